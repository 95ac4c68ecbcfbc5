// The persistent decoder's kernel: see persistent_ops.hpp. Per position, with a grid-wide
// barrier between dependent phases:
//   layers: each block, for its units of layer l, forms the gate pre-activations of a tile of
//           streams at a time (their h staged in shared memory, dotted with the resident weight
//           rows) and runs the shared cell body (cell_step.cuh) on them: h and c of layer l for
//           its units;
//   head:   each block takes a slice of the vocabulary's rows of head.weight, and dots them
//           with a tile of streams' top h at a time, staged likewise;
//   draw:   block b draws stream b's token from its logits, as the sampling kernel does.
// A weight row read serves a whole tile of streams and a staged h value a pair of rows, so B
// streams cost far less than B times one: the per-stream work left is the dot products'
// arithmetic and the draws.
#include <cooperative_groups.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "kernels/block_reduce.cuh"
#include "kernels/cells/cell_list.cuh"
#include "kernels/launch.cuh"
#include "kernels/persistent_ops.hpp"
#include "kernels/sampling_draw.cuh"
#include "kernels/shared_memory.cuh"

namespace genrnn::kernels {
namespace {

// The most threads a block runs (persistent_shape picks 64 or this), for __launch_bounds__.
constexpr int kMaxThreads = 256;
// Rows a warp accumulates at once, and the most streams staged at once: each weight value read
// serves a tile of streams, each staged value kRowTile rows.
constexpr int kRowTile = 2;
constexpr int kStreamTile = 8;

// Where a block keeps what it owns, in floats from the start of its dynamic shared memory:
// per layer [weight_ih rows (layers >= 1) | weight_hh rows | bias_ih (layers >= 1) | bias_hh],
// each row H wide and R = G * units rows (row g * units + j: gate g of unit j); then a tile's
// pre-activations gx and gh, [tile][R] each; then the staged inputs of a tile, h_prev and the
// layer below's h (or the top h, for the head), [tile][H] each.
struct SharedLayout {
  int rows, hidden, tile;
  __host__ __device__ std::size_t layer_floats(int l) const {
    return std::size_t(rows) * hidden * (l > 0 ? 2 : 1) + std::size_t(rows) * (l > 0 ? 2 : 1);
  }
  __host__ __device__ std::size_t layer_start(int l) const {
    std::size_t start = 0;
    for (int k = 0; k < l; ++k) start += layer_floats(k);
    return start;
  }
  __host__ __device__ std::size_t weight_ih(int l) const { return layer_start(l); }
  __host__ __device__ std::size_t weight_hh(int l) const {
    return layer_start(l) + (l > 0 ? std::size_t(rows) * hidden : 0);
  }
  __host__ __device__ std::size_t bias_ih(int l) const { return weight_hh(l) + std::size_t(rows) * hidden; }
  __host__ __device__ std::size_t bias_hh(int l) const { return bias_ih(l) + (l > 0 ? rows : 0); }
  __host__ __device__ std::size_t gx(int layers) const { return layer_start(layers); }
  __host__ __device__ std::size_t gh(int layers) const { return gx(layers) + std::size_t(tile) * rows; }
  __host__ __device__ std::size_t staged(int layers) const { return gh(layers) + std::size_t(tile) * rows; }
  __host__ __device__ std::size_t total(int layers) const { return staged(layers) + 2 * std::size_t(tile) * hidden; }
};

// The sampler's shared memory, in a function that is not a template: the host SIMT executor
// finds __shared__ variables by their section, which g++ drops for a template's statics.
__device__ sampling::Shared& sampler_shared() {
  __shared__ sampling::Shared shared;
  return shared;
}

// One warp: sums[i][s] = row i of `weights` (rows `stride` apart; the first `rows` of
// kRowTile) dotted with staged vector s ([streams][H], the first `streams` of kStreamTile),
// in every lane. Lanes take every 32nd k, then a shuffle tree adds them up.
__device__ void dot_tile(const float* weights, std::size_t stride, int rows, const float* staged, int streams, int H,
                         float (&sums)[kRowTile][kStreamTile]) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int i = 0; i < kRowTile; ++i)
#pragma unroll
    for (int s = 0; s < kStreamTile; ++s) sums[i][s] = 0.0f;
  for (int k = lane; k < H; k += 32) {
    float w[kRowTile];
#pragma unroll
    for (int i = 0; i < kRowTile; ++i) w[i] = i < rows ? weights[std::size_t(i) * stride + k] : 0.0f;
#pragma unroll
    for (int s = 0; s < kStreamTile; ++s) {
      if (s >= streams) break;
      const float x = staged[std::size_t(s) * H + k];
#pragma unroll
      for (int i = 0; i < kRowTile; ++i) sums[i][s] += w[i] * x;
    }
  }
#pragma unroll
  for (int i = 0; i < kRowTile; ++i)
#pragma unroll
    for (int s = 0; s < kStreamTile; ++s)
      if (s < streams) sums[i][s] = warp_reduce(sums[i][s], SumOp{});
}

// Copies `count` floats into shared memory with the whole block.
__device__ void stage(float* to, const float* from, std::size_t count) {
  for (std::size_t i = threadIdx.x; i < count; i += blockDim.x) to[i] = from[i];
}

template <class Cell>
__global__ void __launch_bounds__(kMaxThreads)
    persistent_decode_steps(PersistentModel model, PersistentShape shape, PersistentStep step) {
  GENRNN_DYNAMIC_SHARED(float, owned);
  sampling::Shared& sampler = sampler_shared();
  const cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  constexpr int G = Cell::gates;
  const int H = model.hidden, V = model.vocab, L = model.layers, B = step.batch, U = shape.units, R = G * U;
  const int T = shape.stream_tile;
  const int first_unit = blockIdx.x * U, units = max(0, min(U, H - first_unit));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  const SharedLayout layout{R, H, T};
  float* gx = owned + layout.gx(L);
  float* gh = owned + layout.gh(L);
  float* staged = owned + layout.staged(L);  // h_prev, or the top h for the head
  float* staged_below = staged + std::size_t(T) * H;
  // This block's slice of the head's rows.
  const int head_rows = (V + int(gridDim.x) - 1) / int(gridDim.x), first_row = int(blockIdx.x) * head_rows;
  const int rows_here = max(0, min(head_rows, V - first_row));

  // This block's rows of every layer, once for the whole launch; zeros past the last unit.
  for (int l = 0; l < L; ++l) {
    for (std::size_t i = threadIdx.x; i < std::size_t(R) * H; i += blockDim.x) {
      const int r = int(i / H), k = int(i % H), g = r / U, j = r % U;
      const std::size_t row = std::size_t(g) * H + first_unit + j;
      owned[layout.weight_hh(l) + i] = j < units ? model.weight_hh[l][row * H + k] : 0.0f;
      if (l > 0) owned[layout.weight_ih(l) + i] = j < units ? model.weight_ih[l][row * H + k] : 0.0f;
    }
    for (int r = threadIdx.x; r < R; r += blockDim.x) {
      const int g = r / U, j = r % U;
      const int row = g * H + first_unit + j;
      owned[layout.bias_hh(l) + r] = j < units ? model.bias_hh[l][row] : 0.0f;
      if (l > 0) owned[layout.bias_ih(l) + r] = j < units ? model.bias_ih[l][row] : 0.0f;
    }
  }

  const std::size_t layer_state = std::size_t(B) * H;
  int parity = step.parity;
  for (int p = 0; p < step.positions; ++p) {
    if (step.first_position + p > 0) {  // feed the last draw through the layers and the head
      const float* h_in = step.h[parity];
      float* h_out = step.h[parity ^ 1];
      const float* c_in = step.c[parity];
      float* c_out = step.c[parity ^ 1];
      for (int l = 0; l < L; ++l) {
        const float* h_prev = h_in + l * layer_state;
        const float* below = l > 0 ? h_out + (l - 1) * layer_state : nullptr;
        const float *w_ih = owned + layout.weight_ih(l), *w_hh = owned + layout.weight_hh(l);
        const float *b_ih = owned + layout.bias_ih(l), *b_hh = owned + layout.bias_hh(l);
        for (int b0 = 0; b0 < B; b0 += T) {  // block-uniform
          const int n = min(T, B - b0);
          __syncthreads();  // the last tile's cells are done with the staged inputs and gate buffers
          stage(staged, h_prev + std::size_t(b0) * H, std::size_t(n) * H);
          if (l > 0) stage(staged_below, below + std::size_t(b0) * H, std::size_t(n) * H);
          if (l == 0)
            for (int item = threadIdx.x; item < n * R; item += blockDim.x) {
              const int s = item / R, r = item % R, g = r / U, j = r % U;
              if (j < units)
                gx[item] =
                    model.input_table[std::size_t(step.next_ids[b0 + s]) * G * H + std::size_t(g) * H + first_unit + j];
            }
          __syncthreads();
          for (int r0 = warp * kRowTile; r0 < R; r0 += warps * kRowTile) {  // warp-uniform
            const int rows = min(kRowTile, R - r0);
            float sums[kRowTile][kStreamTile];
            dot_tile(w_hh + std::size_t(r0) * H, H, rows, staged, n, H, sums);
            if (lane == 0)
              for (int i = 0; i < rows; ++i)
                for (int s = 0; s < n; ++s) gh[std::size_t(s) * R + r0 + i] = sums[i][s];
            if (l > 0) {
              dot_tile(w_ih + std::size_t(r0) * H, H, rows, staged_below, n, H, sums);
              if (lane == 0)
                for (int i = 0; i < rows; ++i)
                  for (int s = 0; s < n; ++s) gx[std::size_t(s) * R + r0 + i] = sums[i][s] + b_ih[r0 + i];
            }
          }
          __syncthreads();
          const std::size_t first = std::size_t(b0) * H + l * layer_state + first_unit;
          const math::CellForward<float> cells{gx,
                                               std::size_t(R),
                                               gh,
                                               b_hh,
                                               h_prev + std::size_t(b0) * H + first_unit,
                                               std::size_t(H),
                                               c_in ? c_in + first : nullptr,
                                               h_out + first,
                                               std::size_t(H),
                                               c_out ? c_out + first : nullptr,
                                               std::size_t(H),
                                               nullptr,
                                               std::size_t(U)};
          if (units > 0)
            for (int item = threadIdx.x; item < n * units; item += blockDim.x)
              Cell::forward(cells, std::size_t(item / units), std::size_t(item % units));
        }
        grid.sync();
      }
      const float* top = h_out + (L - 1) * layer_state;
      if (rows_here > 0)  // block-uniform
        for (int b0 = 0; b0 < B; b0 += T) {
          const int n = min(T, B - b0);
          __syncthreads();  // the last tile's dot products are done with the staged h
          stage(staged, top + std::size_t(b0) * H, std::size_t(n) * H);
          __syncthreads();
          for (int r0 = warp * kRowTile; r0 < rows_here; r0 += warps * kRowTile) {  // warp-uniform
            const int v0 = first_row + r0, rows = min(kRowTile, rows_here - r0);
            float sums[kRowTile][kStreamTile];
            dot_tile(model.head_weight + std::size_t(v0) * H, H, rows, staged, n, H, sums);
            if (lane == 0)
              for (int i = 0; i < rows; ++i)
                for (int s = 0; s < n; ++s)
                  step.logits[std::size_t(b0 + s) * V + v0 + i] = sums[i][s] + model.head_bias[v0 + i];
          }
        }
      parity ^= 1;
      grid.sync();
    }
    for (int b = blockIdx.x; b < B; b += gridDim.x) {  // block-uniform
      const int id = sampling::draw_token(step.logits + std::size_t(b) * V, V, step.options[b], step.seeds[b],
                                          step.stream_ids[b], step.steps[b], sampler);
      if (threadIdx.x == 0) {
        step.ids[std::size_t(p) * B + b] = id;
        step.next_ids[b] = id;
        step.steps[b] += 1;
      }
    }
    grid.sync();
  }
}

// The kernel of `cell`, with its name for messages; a cell with row stages has none (the
// kernel runs only the per-unit bodies), which persistent_shape says.
template <class Body>
void with_kernel(CellType cell, Body&& body) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    if constexpr (math::has_row_stages<Cell>) {
      throw Error(std::string("kernels::persistent_decode: no kernel for the ") + Cell::name + " cell");
    } else {
      static const std::string name = std::string("persistent_decode_steps<") + Cell::name + ">";  // outlives launches
      body(persistent_decode_steps<Cell>, name.c_str(), Cell::gates);
    }
  });
}

}  // namespace

std::string persistent_model_limits(CellType cell, int layers) {
  const char* normalised = nullptr;  // the name of a cell with row stages
  math::with_cell(cell, [&](auto kind) {
    if (math::has_row_stages<decltype(kind)>) normalised = decltype(kind)::name;
  });
  if (normalised)
    return std::string("the ") + normalised + " cell's layer normalisations (over whole rows) are not in its kernel";
  if (layers > kPersistentMaxLayers)
    return "it runs up to " + std::to_string(kPersistentMaxLayers) + " layers, not " + std::to_string(layers);
  return "";
}

PersistentShape persistent_shape(CellType cell, int layers, int hidden, int batch, int multiprocessors,
                                 std::size_t shared_per_block, std::string& why) {
  PersistentShape shape;
  why = persistent_model_limits(cell, layers);
  if (!why.empty()) return shape;
  with_kernel(cell, [&](auto kernel, const char* name, int gates) {
    const void* function = reinterpret_cast<const void*>(kernel);
    cudaFuncAttributes attributes{};
    detail::check_launch(name, cudaFuncGetAttributes(&attributes, function));
    // As many blocks as there are multiprocessors, each with its share of the units, and the
    // largest tile of streams whose staging fits beside the weights.
    const int units = (hidden + multiprocessors - 1) / multiprocessors;
    int tile = std::min(kStreamTile, std::max(1, batch));
    auto bytes = [&] { return SharedLayout{gates * units, hidden, tile}.total(layers) * sizeof(float); };
    while (tile > 1 && bytes() + attributes.sharedSizeBytes > shared_per_block) tile /= 2;
    if (bytes() + attributes.sharedSizeBytes > shared_per_block) {
      why = "its share of the recurrent weights needs " + std::to_string(bytes() >> 10) +
            " KiB of shared memory per block, with " + std::to_string(attributes.sharedSizeBytes) +
            " bytes of the kernel's own; a block has " + std::to_string(shared_per_block >> 10) + " KiB";
      return;
    }
    const int blocks = (hidden + units - 1) / units, threads = hidden >= 128 ? kMaxThreads : 64;
    // Every block must be resident at once: ask the GPU how many of these fit on a multiprocessor.
    allow_shared_memory(name, kernel, bytes());
    int per_multiprocessor = 0;
    detail::check_launch(
        name, cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_multiprocessor, function, threads, bytes()));
    if (per_multiprocessor * multiprocessors < blocks) {
      why = "its " + std::to_string(blocks) + " blocks of " + std::to_string(threads) + " threads and " +
            std::to_string(bytes() >> 10) + " KiB of shared memory cannot all be resident at once: the GPU holds " +
            std::to_string(per_multiprocessor) + " per multiprocessor, on " + std::to_string(multiprocessors);
      return;
    }
    shape.units = units;
    shape.blocks = blocks;
    shape.threads = threads;
    shape.stream_tile = tile;
    shape.shared_bytes = bytes();
  });
  return shape;
}

bool persistent_decode(CellType cell, const PersistentModel& model, const PersistentShape& shape,
                       const PersistentStep& step, cudaStream_t stream) {
  require_non_negative("persistent_decode", {step.batch, step.positions, step.first_position});
  if (shape.blocks < 1 || shape.stream_tile < 1 || shape.stream_tile > kStreamTile || model.layers < 1 ||
      model.layers > kPersistentMaxLayers)
    throw Error("kernels::persistent_decode: no shape for this model (persistent_shape)");
  if (step.batch == 0 || step.positions == 0) return true;
  bool resident = true;
  with_kernel(cell, [&](auto kernel, const char* name, int) {
    resident = launch_cooperative(name, kernel, {dim3(shape.blocks), dim3(shape.threads), shape.shared_bytes}, stream,
                                  model, shape, step);
  });
  return resident;
}

}  // namespace genrnn::kernels
