// The sampling kernel: one block draws the next token of one stream (kernels/sampling_draw.cuh).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "genrnn/error.hpp"
#include "kernels/sampling_draw.cuh"

namespace genrnn::kernels {
namespace {

__global__ void __launch_bounds__(sampling::kMaxThreads)
    sample_tokens_per_stream(const float* logits, int vocab, const SamplingOptions* options, const uint64_t* seeds,
                             const uint64_t* stream_ids, const uint64_t* steps, int* ids) {
  __shared__ sampling::Shared shared;
  const int b = blockIdx.x;
  const int id = sampling::draw_token(logits + std::size_t(b) * vocab, vocab, options[b], seeds[b], stream_ids[b],
                                      steps[b], shared);
  if (threadIdx.x == 0) ids[b] = id;
}

__global__ void advance_steps_by_one(uint64_t* steps, int batch) {
  for (std::size_t b = grid_thread_index(); b < static_cast<std::size_t>(batch); b += grid_thread_count()) ++steps[b];
}

}  // namespace

void advance_steps(uint64_t* steps, int batch, cudaStream_t stream) {
  require_non_negative("advance_steps", {batch});
  if (batch == 0) return;
  launch("advance_steps_by_one", advance_steps_by_one, grid_stride_shape(std::size_t(batch)), stream, steps, batch);
}

void sample_tokens(const float* logits, int batch, int vocab, const SamplingOptions* options, const uint64_t* seeds,
                   const uint64_t* stream_ids, const uint64_t* steps, int* ids, cudaStream_t stream) {
  require_non_negative("sample_tokens", {batch, vocab});
  if (batch == 0) return;
  if (vocab == 0) throw Error("kernels::sample_tokens: cannot sample from an empty vocabulary");
  // Whole warps, enough for one chunk of runs to cover the vocabulary when it is small.
  const int runs = (vocab - 1) / sampling::kRun + 1;
  const int threads = std::min(sampling::kMaxThreads, (runs + 31) / 32 * 32);
  launch("sample_tokens_per_stream", sample_tokens_per_stream, {dim3(batch), dim3(threads)}, stream, logits, vocab,
         options, seeds, stream_ids, steps, ids);
}

}  // namespace genrnn::kernels
