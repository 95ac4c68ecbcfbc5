#include "cuda/gpu_sampler.hpp"

namespace genrnn::cuda {

void DeviceSampler::set_keys(const std::vector<DrawKey>& keys, uint64_t position) {
  streams_ = static_cast<int>(keys.size());
  std::vector<uint64_t> words(3 * keys.size());
  for (std::size_t s = 0; s < keys.size(); ++s) {
    words[s] = keys[s].seed;
    words[keys.size() + s] = keys[s].stream;
    words[2 * keys.size() + s] = position;
  }
  keys_.reserve(words.size());
  // From pageable memory: the copy is staged before this returns, so `words` may go.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(keys_.data(), words.data(), words.size() * sizeof(uint64_t), cudaMemcpyHostToDevice,
                                    context_.stream()));
}

void DeviceSampler::draw(const float* logits, int vocab, const SamplingOptions& sampling, int* ids) {
  kernels::sample_tokens(logits, streams_, vocab, sampling, seeds(), stream_ids(), counters(), ids, context_.stream());
  kernels::advance_steps(counters(), streams_, context_.stream());
}

GpuSampler::GpuSampler(const EngineOptions& options)
    : context_(options.gpu, options.tf32), sampler_(context_), logits_(context_.stream()), ids_(context_.stream()) {}

void GpuSampler::write_logits(const std::vector<float>& logits) {
  logits_.reserve(logits.size());
  ids_.reserve(static_cast<std::size_t>(streams()));
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits_.data(), logits.data(), logits.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, context_.stream()));
  context_.synchronize();  // `logits` may go away once this returns
}

void GpuSampler::run_draw(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) {
  sampler_.set_keys(keys, position);
  sampler_.draw(logits_.data(), vocab(), sampling, ids_.data());
}

}  // namespace genrnn::cuda
