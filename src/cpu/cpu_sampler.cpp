#include "cpu/cpu_engines.hpp"

namespace genrnn::cpu {

void draw_streams(const float* logits, int vocab, const SamplingOptions& sampling, const std::vector<DrawKey>& keys,
                  uint64_t position, int* ids) {
  SamplingOptions stream_sampling = sampling;
  for (std::size_t s = 0; s < keys.size(); ++s) {
    stream_sampling.seed = keys[s].seed;
    ids[s] = sample_token(logits + s * vocab, vocab, stream_sampling, keys[s].stream, position);
  }
}

void CpuSampler::run_draw(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) {
  drawn_.resize(keys.size());
  draw_streams(logits_.data(), vocab(), sampling, keys, position, drawn_.data());
}

}  // namespace genrnn::cpu
