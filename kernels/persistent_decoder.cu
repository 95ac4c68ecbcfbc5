// The persistent decoder's kernel: see persistent_ops.hpp. Per position, with a grid-wide
// barrier between dependent phases:
//   layers: each block, for its units of layer l, forms every stream's gate pre-activations
//           (warps take (row, stream) dot products against the resident weight rows) and runs
//           the shared cell body (cell_step.cuh) on them: h and c of layer l for its units;
//   head:   the grid's warps take (token, stream) dot products of head.weight with the top h;
//   draw:   block b draws stream b's token from its logits, as the sampling kernel does.
#include <cooperative_groups.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "genrnn/sampling.hpp"
#include "kernels/block_reduce.cuh"
#include "kernels/cell_step.cuh"
#include "kernels/persistent_ops.hpp"
#include "kernels/sampling_draw.cuh"
#include "kernels/shared_memory.cuh"

namespace genrnn::kernels {
namespace {

// Where a block keeps what it owns, in floats from the start of its dynamic shared memory:
// per layer [weight_ih rows (layers >= 1) | weight_hh rows | bias_ih (layers >= 1) | bias_hh],
// each row H wide and R = G * units rows (row g * units + j: gate g of unit j), then the
// streams' pre-activations gx and gh, [batch][R] each.
struct SharedLayout {
  int rows, hidden;
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
  __host__ __device__ std::size_t total(int layers, int batch) const {
    return layer_start(layers) + 2 * std::size_t(batch) * rows;
  }
};

// The sampler's shared memory, in a function that is not a template: the host SIMT executor
// finds __shared__ variables by their section, which g++ drops for a template's statics.
__device__ sampling::Shared& sampler_shared() {
  __shared__ sampling::Shared shared;
  return shared;
}

template <class Cell>
__global__ void persistent_decode_steps(PersistentModel model, PersistentShape shape, PersistentStep step,
                                        SamplingParams sampling) {
  GENRNN_DYNAMIC_SHARED(float, owned);
  sampling::Shared& sampler = sampler_shared();
  const cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  constexpr int G = Cell::gates;
  const int H = model.hidden, V = model.vocab, L = model.layers, B = step.batch, U = shape.units, R = G * U;
  const int first_unit = blockIdx.x * U, units = max(0, min(U, H - first_unit));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  const SharedLayout layout{R, H};
  float* gx = owned + layout.layer_start(L);
  float* gh = gx + std::size_t(B) * R;

  // This block's rows of every layer, once for the whole launch.
  for (int l = 0; l < L; ++l) {
    for (std::size_t i = threadIdx.x; i < std::size_t(R) * H; i += blockDim.x) {
      const int r = int(i / H), k = int(i % H), g = r / U, j = r % U;
      if (j >= units) continue;
      const std::size_t row = std::size_t(g) * H + first_unit + j;
      owned[layout.weight_hh(l) + i] = model.weight_hh[l][row * H + k];
      if (l > 0) owned[layout.weight_ih(l) + i] = model.weight_ih[l][row * H + k];
    }
    for (int r = threadIdx.x; r < R; r += blockDim.x) {
      const int g = r / U, j = r % U;
      if (j >= units) continue;
      const int row = g * H + first_unit + j;
      owned[layout.bias_hh(l) + r] = model.bias_hh[l][row];
      if (l > 0) owned[layout.bias_ih(l) + r] = model.bias_ih[l][row];
    }
  }
  __syncthreads();

  const std::size_t layer_state = std::size_t(B) * H;
  int parity = step.parity;
  for (int p = 0; p < step.positions; ++p) {
    if (step.first_position + p > 0) {  // feed the last draw through the layers and the head
      const float* h_in = step.h[parity];
      float* h_out = step.h[parity ^ 1];
      for (int l = 0; l < L; ++l) {
        const float* h_prev = h_in + l * layer_state;
        const float* below = l > 0 ? h_out + (l - 1) * layer_state : nullptr;
        for (int item = warp; item < R * B; item += warps) {  // warp-uniform
          const int b = item / R, r = item % R, g = r / U, j = r % U;
          if (j >= units) continue;
          const float* w_hh = owned + layout.weight_hh(l) + std::size_t(r) * H;
          float recurrent = 0.0f, input = 0.0f;
          for (int k = lane; k < H; k += 32) recurrent += w_hh[k] * h_prev[std::size_t(b) * H + k];
          if (l > 0) {
            const float* w_ih = owned + layout.weight_ih(l) + std::size_t(r) * H;
            for (int k = lane; k < H; k += 32) input += w_ih[k] * below[std::size_t(b) * H + k];
          }
          recurrent = warp_reduce(recurrent, SumOp{});
          if (l > 0) input = warp_reduce(input, SumOp{});
          if (lane != 0) continue;
          gh[std::size_t(b) * R + r] = recurrent;
          gx[std::size_t(b) * R + r] =
              l > 0 ? input + owned[layout.bias_ih(l) + r]
                    : model.input_table[std::size_t(step.next_ids[b]) * G * H + std::size_t(g) * H + first_unit + j];
        }
        __syncthreads();
        const math::CellForward<float> cells{gx,
                                             std::size_t(R),
                                             gh,
                                             owned + layout.bias_hh(l),
                                             h_prev + first_unit,
                                             std::size_t(H),
                                             step.c[parity] ? step.c[parity] + l * layer_state + first_unit : nullptr,
                                             h_out + l * layer_state + first_unit,
                                             std::size_t(H),
                                             step.c[parity ^ 1] ? step.c[parity ^ 1] + l * layer_state + first_unit
                                                                : nullptr,
                                             std::size_t(H),
                                             nullptr,
                                             std::size_t(U)};
        if (units > 0)
          for (int item = threadIdx.x; item < B * units; item += blockDim.x)
            math::cell_forward_unit<Cell>(cells, std::size_t(item / units), std::size_t(item % units));
        grid.sync();
      }
      const float* top = h_out + (L - 1) * layer_state;
      for (int item = blockIdx.x * warps + warp; item < V * B; item += gridDim.x * warps) {  // warp-uniform
        const int b = item / V, v = item % V;
        float logit = 0.0f;
        for (int k = lane; k < H; k += 32) logit += model.head_weight[std::size_t(v) * H + k] * top[std::size_t(b) * H + k];
        logit = warp_reduce(logit, SumOp{});
        if (lane == 0) step.logits[std::size_t(b) * V + v] = logit + model.head_bias[v];
      }
      parity ^= 1;
      grid.sync();
    }
    for (int b = blockIdx.x; b < B; b += gridDim.x) {  // block-uniform
      const int id = sampling::draw_token(step.logits + std::size_t(b) * V, V, sampling, step.seeds[b],
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

}  // namespace

PersistentShape persistent_shape(CellType cell, int layers, int hidden, int batch, int multiprocessors,
                                 std::size_t shared_per_block, std::string& why) {
  PersistentShape shape;
  if (layers > kPersistentMaxLayers) {
    why = "it runs up to " + std::to_string(kPersistentMaxLayers) + " layers, not " + std::to_string(layers);
    return shape;
  }
  int gates = 1;
  math::with_cell(cell, [&](auto kind) { gates = decltype(kind)::gates; });
  // As many blocks as there are multiprocessors, each with its share of the units.
  const int units = (hidden + multiprocessors - 1) / multiprocessors;
  const SharedLayout layout{gates * units, hidden};
  const std::size_t bytes = layout.total(layers, batch) * sizeof(float);
  if (bytes + sizeof(sampling::Shared) > shared_per_block) {  // and the sampler's static share
    why = "its share of the recurrent weights needs " + std::to_string(bytes >> 10) +
          " KiB of shared memory per block for " + std::to_string(batch) + " streams; a block has " +
          std::to_string(shared_per_block >> 10) + " KiB";
    return shape;
  }
  shape.units = units;
  shape.blocks = (hidden + units - 1) / units;
  shape.threads = hidden >= 128 ? 256 : 64;
  shape.shared_bytes = bytes;
  return shape;
}

void persistent_decode(CellType cell, const PersistentModel& model, const PersistentShape& shape,
                       const PersistentStep& step, const SamplingParams& sampling, cudaStream_t stream) {
  require_non_negative("persistent_decode", {step.batch, step.positions, step.first_position});
  SamplingOptions{sampling.temperature, sampling.top_k, sampling.top_p}.validate();
  if (shape.blocks < 1 || model.layers < 1 || model.layers > kPersistentMaxLayers)
    throw Error("kernels::persistent_decode: no shape for this model (persistent_shape)");
  if (step.batch == 0 || step.positions == 0) return;
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    const auto kernel = persistent_decode_steps<Cell>;
    static const std::string name = std::string("persistent_decode_steps<") + Cell::name + ">";  // outlives the launch
    // Past 48 KiB, a kernel's dynamic shared memory must be allowed explicitly.
    if (shape.shared_bytes > 48 * 1024 &&
        cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), cudaFuncAttributeMaxDynamicSharedMemorySize,
                             int(shape.shared_bytes)) != cudaSuccess)
      throw Error("kernels::persistent_decode: " + std::to_string(shape.shared_bytes) +
                  " bytes of shared memory per block are more than this GPU allows");
    launch_cooperative(name.c_str(), kernel, {dim3(shape.blocks), dim3(shape.threads), shape.shared_bytes}, stream,
                       model, shape, step, sampling);
  });
}

}  // namespace genrnn::kernels
