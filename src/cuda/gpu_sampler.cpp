#include "cuda/gpu_sampler.hpp"

namespace genrnn::cuda {

void DeviceSampler::set_streams(const std::vector<StreamDraw>& streams) {
  streams_ = static_cast<int>(streams.size());
  std::vector<uint64_t> words(3 * streams.size());
  std::vector<SamplingOptions> options(streams.size());
  for (std::size_t s = 0; s < streams.size(); ++s) {
    words[s] = streams[s].key.seed;
    words[streams.size() + s] = streams[s].key.stream;
    words[2 * streams.size() + s] = streams[s].position;
    options[s] = streams[s].sampling;
  }
  keys_.reserve(words.size());
  options_.reserve(options.size());
  // From pageable memory: the copies are staged before this returns, so `words` and `options` may go.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(keys_.data(), words.data(), words.size() * sizeof(uint64_t), cudaMemcpyHostToDevice,
                                    context_.stream()));
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(options_.data(), options.data(), options.size() * sizeof(SamplingOptions),
                                    cudaMemcpyHostToDevice, context_.stream()));
}

void DeviceSampler::draw(const float* logits, int vocab, int* ids) {
  kernels::sample_tokens(logits, streams_, vocab, options_.data(), seeds(), stream_ids(), counters(), ids,
                         context_.stream());
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

void GpuSampler::run_draw(const std::vector<StreamDraw>& streams) {
  sampler_.set_streams(streams);
  sampler_.draw(logits_.data(), vocab(), ids_.data());
}

}  // namespace genrnn::cuda
