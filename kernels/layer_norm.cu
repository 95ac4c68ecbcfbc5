// Layer normalisation over rows and its gradient: one block per row, its threads taking every
// blockDim.x-th column (any width), the row's sums through block_reduce.
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/host_device.cuh"
#include "kernels/layer_norm_math.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {
namespace {

// Three passes over the row, each thread over its own columns only, so y may be x: the mean,
// the squared deviations from it (not E[x²] - mean², which cancels catastrophically for rows far
// from 0), then the outputs.
__global__ void layer_norm_rows(const float* x, int width, const float* gain, const float* bias, float* y,
                                float* normalized, float* inv_std) {
  __shared__ float warp_results[32];
  const std::size_t offset = blockIdx.x * std::size_t(width);
  const float* in = x + offset;
  float sum = 0.0f;
  for (int c = threadIdx.x; c < width; c += blockDim.x) sum += in[c];
  const float mean = block_reduce(sum, SumOp{}, warp_results) / width;
  float squares = 0.0f;
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    const float deviation = in[c] - mean;
    squares += deviation * deviation;
  }
  const float variance = block_reduce(squares, SumOp{}, warp_results) / width;
  const float row_inv_std = 1.0f / math::sqrt_of(variance + math::layer_norm_epsilon<float>);
  if (inv_std && threadIdx.x == 0) inv_std[blockIdx.x] = row_inv_std;
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    const float x_hat = (in[c] - mean) * row_inv_std;
    if (normalized) normalized[offset + c] = x_hat;
    y[offset + c] = bias ? x_hat * gain[c] + bias[c] : x_hat * gain[c];
  }
}

// Both means of the row (g and g * x̂) before any write, each thread over its own columns only,
// so dx may be dy.
__global__ void layer_norm_backward_rows(const float* dy, const float* normalized, const float* inv_std,
                                         const float* gain, int width, float* dx, bool accumulate) {
  __shared__ float warp_results[32];
  const std::size_t offset = blockIdx.x * std::size_t(width);
  float sum_g = 0.0f, sum_g_x_hat = 0.0f;
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    const float g = dy[offset + c] * gain[c];
    sum_g += g;
    sum_g_x_hat += g * normalized[offset + c];
  }
  const float mean_g = block_reduce(sum_g, SumOp{}, warp_results) / width;
  const float mean_g_x_hat = block_reduce(sum_g_x_hat, SumOp{}, warp_results) / width;
  const float row_inv_std = inv_std[blockIdx.x];
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    const float g = dy[offset + c] * gain[c];
    const float gradient = row_inv_std * (g - mean_g - normalized[offset + c] * mean_g_x_hat);
    dx[offset + c] = accumulate ? dx[offset + c] + gradient : gradient;
  }
}

}  // namespace

void layer_norm(const float* x, int rows, int width, const float* gain, const float* bias, float* y, float* normalized,
                float* inv_std, cudaStream_t stream) {
  require_non_negative("layer_norm", {rows, width});
  if (rows == 0 || width == 0) return;
  launch("layer_norm_rows", layer_norm_rows, {dim3(rows), dim3(row_block_threads(width))}, stream, x, width, gain, bias,
         y, normalized, inv_std);
}

void layer_norm_backward(const float* dy, const float* normalized, const float* inv_std, const float* gain, int rows,
                         int width, float* dx, bool accumulate, cudaStream_t stream) {
  require_non_negative("layer_norm_backward", {rows, width});
  if (rows == 0 || width == 0) return;
  launch("layer_norm_backward_rows", layer_norm_backward_rows, {dim3(rows), dim3(row_block_threads(width))}, stream, dy,
         normalized, inv_std, gain, width, dx, accumulate);
}

}  // namespace genrnn::kernels
