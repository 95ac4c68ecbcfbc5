#include "cpu/cpu_engines.hpp"

namespace genrnn::cpu {

void CpuDecoder::run_prefill(const std::vector<int>& prompts, int length, std::vector<float>& logits) {
  network_.forward(prompts.data(), batch(), length, {}, /*inference=*/true);
  network_.last_logits(logits.data());
}

DecodeStats CpuDecoder::run_decode(const std::vector<float>& first_logits, int length,
                                   const std::vector<StreamDraw>& streams, const TokenChunkCallback& on_tokens) {
  std::vector<float> logits = first_logits;
  std::vector<int> ids(streams.size());
  for (int position = 0; position < length; ++position) {
    draw_streams(logits.data(), config().vocab_size, streams, static_cast<uint64_t>(position), ids.data());
    if (!on_tokens(position, 1, ids.data()) || position + 1 == length) break;
    network_.forward(ids.data(), batch(), 1, {}, /*inference=*/true);
    network_.last_logits(logits.data());
  }
  return {"cpu", "", ""};
}

}  // namespace genrnn::cpu
