#pragma once
// Host launcher of the sampling kernel (sampling.cu): one launch draws the next token of every
// stream from its logits, exactly as the CPU sampler (genrnn::sample_token) does.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "genrnn/sampling.hpp"

namespace genrnn::kernels {

// logits: [batch][vocab]. Stream b draws with options[b] (their seed is not read), its uniform
// number Philox keyed by (seeds[b], stream_ids[b], steps[b]) — all four device arrays of
// `batch` entries — so a stream draws the same tokens whatever batch it runs in. Writes ids[b]
// in [0, vocab). The options are valid: the engines' entry points (DecodingEngine::decode,
// TokenSampler::draw) checked them.
void sample_tokens(const float* logits, int batch, int vocab, const SamplingOptions* options, const uint64_t* seeds,
                   const uint64_t* stream_ids, const uint64_t* steps, int* ids, cudaStream_t stream);

// steps[b] += 1 for b < batch: the next draw's counters, on the device (a decode step that is
// replayed as a CUDA graph cannot take them from the host).
void advance_steps(uint64_t* steps, int batch, cudaStream_t stream);

}  // namespace genrnn::kernels
