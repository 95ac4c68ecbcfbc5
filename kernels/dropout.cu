#include "genrnn/error.hpp"
#include "kernels/block_reduce.cuh"
#include "kernels/dropout_math.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {

namespace {

__global__ void dropout_by_philox_mask(const float* in, float* out, std::size_t n, math::DropoutMask mask, int layer) {
  for (std::size_t e = grid_thread_index(); e < n; e += grid_thread_count())
    out[e] = in[e] * math::dropout_scale(mask, layer, e);
}

}  // namespace

void apply_dropout(const float* in, float* out, std::size_t n, const math::DropoutMask& mask, int layer,
                   cudaStream_t stream) {
  if (!(mask.probability >= 0 && mask.probability < 1))
    throw Error("kernels::apply_dropout: the probability must be in [0, 1)");
  if (n == 0) return;
  launch("dropout_by_philox_mask", dropout_by_philox_mask, grid_stride_shape(n), stream, in, out, n, mask, layer);
}

}  // namespace genrnn::kernels
