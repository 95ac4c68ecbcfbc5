#pragma once
// Host launchers of the CUDA kernels both GPU engines share. Every launcher queues its work on
// `stream` and returns at once (no synchronization, no allocation); pointers are device
// pointers; row-major matrices. A launch error is reported by the engine's next checked call.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/optimizer_math.cuh"

namespace genrnn::kernels {

// ---- embedding.cu ----
// rows[r] = table[ids[r]] for r < n; table is vocab x width.
void embedding_gather(const float* table, const int* ids, int n, int width, float* rows, cudaStream_t stream);
// table_grad[ids[r]] += row_grads[r] for r < n (atomic adds: repeated ids accumulate).
void embedding_scatter_add(const float* row_grads, const int* ids, int n, int width, float* table_grad,
                           cudaStream_t stream);
// rows[r] = one_hot(ids[r]) of length vocab.
void one_hot(const int* ids, int n, int vocab, float* rows, cudaStream_t stream);

// ---- rows.cu ----
// matrix[r][c] += bias[c].
void add_bias_rows(float* matrix, const float* bias, int rows, int cols, cudaStream_t stream);
// out[c] = sum over r of matrix[r][c] (plus out[c]'s old value when accumulate).
void column_sums(const float* matrix, int rows, int cols, float* out, bool accumulate, cudaStream_t stream);

// ---- softmax_cross_entropy.cu ----
// One pass per row r over z = logits[r] (+ bias when bias is not null): row_losses[r] =
// logsumexp(z) - z[targets[r]]; when gradient_scale != 0, logits[r] is overwritten by
// (softmax(z) - one_hot(targets[r])) * gradient_scale. Stable for any logits.
void softmax_cross_entropy(float* logits, const float* bias, const int* targets, int rows, int vocab,
                           float gradient_scale, float* row_losses, cudaStream_t stream);
// *total = sum of values[0 .. n), in a fixed order (the same result every run).
void sum(const float* values, int n, double* total, cudaStream_t stream);

// ---- dropout.cu ----
// out[e] = in[e] * math::dropout_scale(probability, seed, step, layer, e) for e < n: forward on a
// layer's outputs, backward on their gradients (in may equal out).
void apply_dropout(const float* in, float* out, std::size_t n, float probability, uint64_t seed, uint64_t step,
                   int layer, cudaStream_t stream);

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
