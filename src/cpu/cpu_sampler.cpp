#include "cpu/cpu_engines.hpp"

namespace genrnn::cpu {

void draw_streams(const float* logits, int vocab, const std::vector<StreamDraw>& streams, uint64_t advance, int* ids) {
  for (std::size_t s = 0; s < streams.size(); ++s) {
    SamplingOptions sampling = streams[s].sampling;
    sampling.seed = streams[s].key.seed;
    ids[s] = sample_token(logits + s * vocab, vocab, sampling, streams[s].key.stream, streams[s].position + advance);
  }
}

void CpuSampler::run_draw(const std::vector<StreamDraw>& streams) {
  drawn_.resize(streams.size());
  draw_streams(logits_.data(), vocab(), streams, 0, drawn_.data());
}

}  // namespace genrnn::cpu
