// The training loss over the head's logits and its gradient, fused: one block per row.
#include <cmath>
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/host_device.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {
namespace {

using math::exp_of;

// Reads the row once for its max and sum of exp(z - max) together (each thread keeps a running
// max and rescales its sum when the max grows), then, for training, once more to write the
// gradient over the logits. Every exp has a non-positive argument: stable for any finite logits.
__global__ void softmax_cross_entropy_rows(float* logits, const float* bias, const int* targets, int vocab,
                                           float gradient_scale, float* row_losses) {
  __shared__ float warp_results[32];
  const std::size_t row = blockIdx.x;
  float* row_logits = logits + row * vocab;
  const auto logit = [&](int v) { return bias ? row_logits[v] + bias[v] : row_logits[v]; };
  const int target = targets[row];
  // Read before the barriers in block_reduce: past them, other threads overwrite the row.
  const float target_logit = logit(target);

  float thread_max = -INFINITY, thread_sum = 0.0f;  // thread_sum: of exp(z - thread_max)
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    const float z = logit(v);
    if (z > thread_max) {
      thread_sum = thread_sum * exp_of(thread_max - z) + 1.0f;
      thread_max = z;
    } else if (thread_max != -INFINITY) {  // -inf - -inf would be NaN; such a z adds 0 anyway
      thread_sum += exp_of(z - thread_max);
    }
  }
  const float row_max = block_reduce(thread_max, MaxOp{}, warp_results);
  // A thread that had no column holds (max -inf, sum 0) and adds 0 here.
  const float row_sum = block_reduce(thread_sum * exp_of(thread_max - row_max), SumOp{}, warp_results);
  const float log_sum = logf(row_sum);
  if (threadIdx.x == 0) row_losses[row] = (row_max - target_logit) + log_sum;

  if (gradient_scale == 0.0f) return;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    const float probability = exp_of((logit(v) - row_max) - log_sum);
    row_logits[v] = (probability - (v == target ? 1.0f : 0.0f)) * gradient_scale;
  }
}

// One block streams all n values: thread t adds values t, t + 1024, ... in double, then the
// block reduction adds the thread sums in a fixed tree.
constexpr int kSumThreads = 1024;

__global__ void sum_in_fixed_order(const float* values, int n, double* total) {
  __shared__ double warp_results[32];
  double thread_sum = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) thread_sum += values[i];
  const double block_sum = block_reduce(thread_sum, SumOp{}, warp_results);
  if (threadIdx.x == 0) *total = block_sum;
}

}  // namespace

void softmax_cross_entropy(float* logits, const float* bias, const int* targets, int rows, int vocab,
                           float gradient_scale, float* row_losses, cudaStream_t stream) {
  require_non_negative("softmax_cross_entropy", {rows, vocab});
  if (rows == 0) return;
  if (vocab == 0) throw Error("kernels::softmax_cross_entropy: a vocabulary of 0 tokens has no softmax");
  launch("softmax_cross_entropy_rows", softmax_cross_entropy_rows, {dim3(rows), dim3(row_block_threads(vocab))}, stream,
         logits, bias, targets, vocab, gradient_scale, row_losses);
}

void sum(const float* values, int n, double* total, cudaStream_t stream) {
  require_non_negative("sum", {n});
  // n == 0 still launches: *total must become 0.
  launch("sum_in_fixed_order", sum_in_fixed_order, {dim3(1), dim3(kSumThreads)}, stream, values, n, total);
}

}  // namespace genrnn::kernels
