#pragma once
// Host launchers of the CUDA kernels the GPU engines share. Every launcher checks its sizes,
// queues its work on `stream` through kernels::launch (which checks the launch at once) and
// returns: no synchronization, no allocation. Pointers are device pointers; matrices are
// row-major.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/dropout_math.cuh"
#include "kernels/optimizer_math.cuh"

namespace genrnn::kernels {

// ---- embedding.cu ----
// rows[r] = table[ids[r]] for r < n; table is vocab x width.
void embedding_gather(const float* table, const int* ids, int n, int width, float* rows, cudaStream_t stream);
// table_grad[ids[r]] += row_grads[r] for r < n (atomic adds: repeated ids accumulate).
void embedding_scatter_add(const float* row_grads, const int* ids, int n, int width, float* table_grad,
                           cudaStream_t stream);
// One-hot input's projection: out[r][g] = weight[g][ids[r]] + bias[g] for r < rows, g < width;
// weight is width x columns (W_ih of V columns).
void gather_columns(const float* weight, int columns, const float* bias, const int* ids, int rows, int width,
                    float* out, cudaStream_t stream);
// Its gradient: weight_grad[g][ids[r]] += grads[r][g] (atomic adds).
void scatter_add_columns(const float* grads, const int* ids, int rows, int width, float* weight_grad, int columns,
                         cudaStream_t stream);

// ---- rows.cu ----
// matrix[r][c] += bias[c].
void add_bias_rows(float* matrix, const float* bias, int rows, int cols, cudaStream_t stream);
// Floats of device scratch add_column_sums needs for a rows x cols matrix.
std::size_t column_sums_scratch_floats(int rows, int cols);
// out[c] += the sum over r of matrix[r][c]: chunks of rows summed in parallel, then the chunks
// in a fixed order, so the result is the same bits every run.
void add_column_sums(const float* matrix, int rows, int cols, float* out, float* scratch, cudaStream_t stream);

// ---- softmax_cross_entropy.cu ----
// One pass per row r over z = logits[r] (+ bias when bias is not null): row_losses[r] =
// logsumexp(z) - z[targets[r]]; when gradient_scale != 0, logits[r] is overwritten by
// (softmax(z) - one_hot(targets[r])) * gradient_scale. Stable for any logits.
void softmax_cross_entropy(float* logits, const float* bias, const int* targets, int rows, int vocab,
                           float gradient_scale, float* row_losses, cudaStream_t stream);
// *total = sum of values[0 .. n), in a fixed order (the same result every run).
void sum(const float* values, int n, double* total, cudaStream_t stream);

// ---- dropout.cu ----
// out[e] = in[e] * math::dropout_scale(mask, layer, e) for e < n: forward on a layer's outputs,
// backward on their gradients (in may equal out).
void apply_dropout(const float* in, float* out, std::size_t n, const math::DropoutMask& mask, int layer,
                   cudaStream_t stream);

// ---- optimizer.cu ----
// Floats of device scratch the norm needs for n gradients (the start of a device allocation:
// it holds doubles).
std::size_t clip_scratch_floats(std::size_t n);
// Scales gradients by min(1, max_norm / (global L2 norm + 1e-6)), as
// torch.nn.utils.clip_grad_norm_, reading the norm on the device (no host round trip).
// Writes the norm before clipping to *norm when norm is not null.
void clip_global_norm(float* gradients, std::size_t n, float max_norm, float* scratch, float* norm,
                      cudaStream_t stream);
void adam_step(float* params, const float* gradients, float* m, float* v, std::size_t n,
               const math::AdamHyper& hyper, cudaStream_t stream);
void sgd_step(float* params, const float* gradients, std::size_t n, float learning_rate, cudaStream_t stream);

}  // namespace genrnn::kernels
