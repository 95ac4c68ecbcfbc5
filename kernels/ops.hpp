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
// One-hot input's projection: out[r][g] = weight[g][ids[r]] + bias[g] for r < rows, g < width
// (weight's column alone where bias is null); weight is width x columns (W_ih of V columns).
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
// Floats of device scratch add_column_products needs for rows x cols matrices.
std::size_t column_products_scratch_floats(int rows, int cols);
// out[c] += the sum over r of a[r][c] * b[r][c] (a layer norm's gain gradient: dy and x̂), in the
// fixed order of add_column_sums, whose kernels it shares. b must not be null.
void add_column_products(const float* a, const float* b, int rows, int cols, float* out, float* scratch,
                         cudaStream_t stream);

// ---- layer_norm.cu ----
// Layer normalisation of each row of x ([rows][width]): the row's mean, then its population
// variance from the deviations (two passes: stable far from 0), inv_std = 1 / sqrt(variance +
// math::layer_norm_epsilon), x̂ = (x - mean) * inv_std and y[r][c] = x̂ * gain[c] + bias[c]
// (no bias where bias is null; gain must not be null). Stores x̂ in normalized ([rows][width])
// and inv_std[r] ([rows]) where those are not null: what backward reads. y may equal x.
void layer_norm(const float* x, int rows, int width, const float* gain, const float* bias, float* y, float* normalized,
                float* inv_std, cudaStream_t stream);
// Its gradient over x, from forward's normalized and inv_std: with g = dy * gain per column,
// dx = inv_std * (g - mean(g) - x̂ * mean(g * x̂)), the means over each row's width values; written
// into dx, or added to it when `accumulate`. dx may equal dy when not accumulating. (gain's
// gradient is add_column_products(dy, normalized), bias's add_column_sums(dy).)
void layer_norm_backward(const float* dy, const float* normalized, const float* inv_std, const float* gain, int rows,
                         int width, float* dx, bool accumulate, cudaStream_t stream);

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
void adam_step(float* params, const float* gradients, float* m, float* v, std::size_t n, const math::AdamHyper& hyper,
               cudaStream_t stream);
void sgd_step(float* params, const float* gradients, std::size_t n, float learning_rate, cudaStream_t stream);

}  // namespace genrnn::kernels
