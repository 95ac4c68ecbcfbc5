#include "genrnn/error.hpp"
#include "kernels/block_reduce.cuh"
#include "kernels/dropout_math.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {

namespace {

__global__ void dropout_by_philox_mask(const float* in, float* out, std::size_t n, float probability, uint64_t seed,
                                       uint64_t step, int layer) {
  for (std::size_t e = grid_thread_index(); e < n; e += grid_thread_count())
    out[e] = in[e] * math::dropout_scale(probability, seed, step, layer, e);
}

}  // namespace

void apply_dropout(const float* in, float* out, std::size_t n, float probability, uint64_t seed, uint64_t step,
                   int layer, cudaStream_t stream) {
  if (!(probability >= 0 && probability < 1)) throw Error("apply_dropout: the probability must be in [0, 1)");
  if (n == 0) return;
  dropout_by_philox_mask<<<grid_blocks(n), kThreadsPerBlock, 0, stream>>>(in, out, n, probability, seed, step, layer);
}

}  // namespace genrnn::kernels
