#pragma once
// The persistent decoder's kernel (persistent_decoder.cu): one cooperative launch decodes a
// chunk of positions for every stream, the whole token loop on the device. Each block owns
// `units` hidden units of every layer and keeps their rows of the recurrent weights in shared
// memory for the whole launch; per position the blocks run each layer (a grid-wide barrier
// after each), the head (another), and draw every stream's token with the sampler of
// sampling_draw.cuh (another), which feeds the next position.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "genrnn/config.hpp"
#include "kernels/sampling_ops.hpp"

namespace genrnn::kernels {

constexpr int kPersistentMaxLayers = 8;

// The model as the kernel reads it, in PyTorch's layout: device pointers.
struct PersistentModel {
  int layers = 0, hidden = 0, vocab = 0;
  const float* input_table = nullptr;                 // [V][G*H]: layer 0's input projections, b_ih_0 included
  const float* weight_ih[kPersistentMaxLayers] = {};  // [G*H][H], layers 1 .. L-1 (layer 0 reads the table)
  const float* weight_hh[kPersistentMaxLayers] = {};  // [G*H][H]
  const float* bias_ih[kPersistentMaxLayers] = {};    // [G*H], layers 1 .. L-1
  const float* bias_hh[kPersistentMaxLayers] = {};    // [G*H]
  const float* head_weight = nullptr;                 // [V][H]
  const float* head_bias = nullptr;                   // [V]
};

// How the work is split: block k owns hidden units [k * units, (k + 1) * units) of every layer,
// and a slice of the head's rows; the streams go through in tiles of `stream_tile`.
struct PersistentShape {
  int blocks = 0, threads = 0, units = 0, stream_tile = 0;
  std::size_t shared_bytes = 0;  // dynamic shared memory per block
};

// Why the kernel runs no model of `layers` layers of `cell` on any GPU (its cells' row stages,
// its layer count), or "": what the engine registry lists and persistent_shape checks first.
std::string persistent_model_limits(CellType cell, int layers);

// The split for `batch` streams on the current GPU, of `multiprocessors` with `shared_per_block`
// bytes of shared memory per block at most; blocks == 0, with `why` set, when the model does
// not fit or the grid cannot be resident at once.
PersistentShape persistent_shape(CellType cell, int layers, int hidden, int batch, int multiprocessors,
                                 std::size_t shared_per_block, std::string& why);

// One launch's streams and positions. The state is h[2] and c[2], each [layers][batch][H]; the
// kernel reads half `parity` and flips it at every step. A position after the first (of the
// whole decode: first_position > 0) first runs the step that feeds the previous draw, then
// draws; the draw of position 0 is from the logits given.
struct PersistentStep {
  float* h[2] = {};
  float* c[2] = {};
  int parity = 0;
  float* logits = nullptr;                   // [batch][V]: drawn from first; left as the last step's
  int* next_ids = nullptr;                   // [batch]: the ids the next step feeds in
  int* ids = nullptr;                        // [positions][batch]: the ids drawn
  const SamplingOptions* options = nullptr;  // one per stream, valid (DecodingEngine::decode checked them)
  const uint64_t* seeds = nullptr;
  const uint64_t* stream_ids = nullptr;
  uint64_t* steps = nullptr;  // Philox counters, one per stream, advanced by each draw
  int batch = 0, first_position = 0, positions = 0;
};

// `shape` is persistent_shape's on the current GPU, which also allowed the kernel its shared
// memory there. False, with nothing launched, where the grid turned out not to fit on the
// device at once (a GPU shared with other processes): the caller decodes another way.
[[nodiscard]] bool persistent_decode(CellType cell, const PersistentModel& model, const PersistentShape& shape,
                                     const PersistentStep& step, cudaStream_t stream);

}  // namespace genrnn::kernels
