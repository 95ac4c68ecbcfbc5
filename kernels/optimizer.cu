// The optimizer's work over the flat parameter buffer: global-norm clipping that never leaves
// the device, and Adam and SGD steps through the update rules the CPU engine uses.
#include <cmath>
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/ops.hpp"
#include "kernels/optimizer_math.cuh"

namespace genrnn::kernels {
namespace {

// Clipping pass 1: block b writes the sum of squares of its grid-stride share to partials[b].
// Each thread accumulates in double: the sum of millions of squares keeps its digits.
__global__ void clip_sum_of_squares_per_block(const float* gradients, std::size_t n, double* partials) {
  __shared__ double warp_results[32];
  double thread_sum = 0.0;
  for (std::size_t i = grid_thread_index(); i < n; i += grid_thread_count())
    thread_sum += double(gradients[i]) * gradients[i];
  const double block_sum = block_reduce(thread_sum, SumOp{}, warp_results);
  if (threadIdx.x == 0) partials[blockIdx.x] = block_sum;  // double: a huge gradient must not overflow
}

// Clipping pass 2, one block: adds the partials in a fixed order, then writes the coefficient
// min(1, max_norm / (norm + 1e-6)) as torch.nn.utils.clip_grad_norm_ does. A NaN norm gives a NaN
// coefficient (not 1), so NaN gradients stay visible, as in torch and the CPU engine.
__global__ void clip_coefficient_from_partials(const double* partials, int blocks, float max_norm, double* coefficient,
                                               float* norm) {
  __shared__ double warp_results[32];
  double thread_sum = 0.0;
  for (int b = threadIdx.x; b < blocks; b += blockDim.x) thread_sum += partials[b];
  const double total = math::sqrt_of(block_reduce(thread_sum, SumOp{}, warp_results));
  if (threadIdx.x != 0) return;
  const double scale = max_norm / (total + 1e-6);
  *coefficient = scale >= 1.0 ? 1.0 : scale;
  if (norm) *norm = float(total);
}

// Clipping pass 3: every thread reads the coefficient pass 2 left on the device and scales in
// double, as the CPU engine does.
__global__ void clip_scale_by_coefficient(float* gradients, std::size_t n, const double* coefficient) {
  const double scale = *coefficient;
  if (scale >= 1.0) return;
  for (std::size_t i = grid_thread_index(); i < n; i += grid_thread_count())
    gradients[i] = float(double(gradients[i]) * scale);
}

__global__ void adam_step_flat(float* params, const float* gradients, float* m, float* v, std::size_t n,
                               math::AdamHyper hyper) {
  for (std::size_t i = grid_thread_index(); i < n; i += grid_thread_count()) {
    float param = params[i], first_moment = m[i], second_moment = v[i];
    math::adam_update(param, gradients[i], first_moment, second_moment, hyper);
    params[i] = param;
    m[i] = first_moment;
    v[i] = second_moment;
  }
}

__global__ void sgd_step_flat(float* params, const float* gradients, std::size_t n, float learning_rate) {
  for (std::size_t i = grid_thread_index(); i < n; i += grid_thread_count())
    math::sgd_update(params[i], gradients[i], learning_rate);
}

}  // namespace

// Pass 1's blocks each leave one double partial, then one double holds the coefficient: two
// floats each.
std::size_t clip_scratch_floats(std::size_t n) { return 2 * (std::size_t(grid_blocks(n)) + 1); }

void clip_global_norm(float* gradients, std::size_t n, float max_norm, float* scratch, float* norm,
                      cudaStream_t stream) {
  if (std::isnan(max_norm)) throw Error("kernels::clip_global_norm: max_norm is NaN");
  const bool clipping = max_norm > 0 && n > 0;  // max_norm 0 or less: off, as in the CPU engine
  if (!clipping && !norm) return;
  const int blocks = grid_blocks(n);
  // The scratch starts a cudaMalloc'd buffer, so it is aligned for doubles.
  double* partials = reinterpret_cast<double*>(scratch);
  double* coefficient = partials + blocks;
  if (blocks > 0)
    launch("clip_sum_of_squares_per_block", clip_sum_of_squares_per_block, grid_stride_shape(n), stream, gradients, n,
           partials);
  launch("clip_coefficient_from_partials", clip_coefficient_from_partials, {dim3(1), dim3(kThreadsPerBlock)}, stream,
         partials, blocks, max_norm, coefficient, norm);
  if (clipping)
    launch("clip_scale_by_coefficient", clip_scale_by_coefficient, grid_stride_shape(n), stream, gradients, n,
           coefficient);
}

void adam_step(float* params, const float* gradients, float* m, float* v, std::size_t n, const math::AdamHyper& hyper,
               cudaStream_t stream) {
  // Step 0's corrections (1 - beta^0 = 0) would divide by zero and fill the weights with NaN.
  if (!(hyper.bias_correction1 > 0 && hyper.bias_correction2 > 0))
    throw Error("kernels::adam_step: bias corrections must be positive (1 - beta^step for step >= 1)");
  if (n == 0) return;
  launch("adam_step_flat", adam_step_flat, grid_stride_shape(n), stream, params, gradients, m, v, n, hyper);
}

void sgd_step(float* params, const float* gradients, std::size_t n, float learning_rate, cudaStream_t stream) {
  if (n == 0) return;
  launch("sgd_step_flat", sgd_step_flat, grid_stride_shape(n), stream, params, gradients, n, learning_rate);
}

}  // namespace genrnn::kernels
