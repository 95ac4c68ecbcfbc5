#include "engine/engine.hpp"

#include <chrono>

#include "genrnn/error.hpp"

namespace genrnn {

double wall_clock_seconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Engine::time_seconds(const std::function<void()>& work) { return wall_clock_seconds(work); }

void Engine::decode(const std::vector<float>& prefill_logits, int length, const SamplingOptions& sampling,
                    const std::vector<uint64_t>& stream_ids, const TokenChunkCallback& on_tokens) {
  const auto streams = static_cast<int>(stream_ids.size());
  if (streams < 1 || prefill_logits.size() % stream_ids.size() != 0)
    throw Error("decode needs the logits of every stream of the prefill");
  const int vocab = static_cast<int>(prefill_logits.size() / stream_ids.size());
  std::vector<float> logits = prefill_logits;
  std::vector<int> ids(stream_ids.size());
  for (int position = 0; position < length; ++position) {
    for (int s = 0; s < streams; ++s)
      ids[s] = sample_token(logits.data() + static_cast<std::size_t>(s) * vocab, vocab, sampling, stream_ids[s],
                            static_cast<uint64_t>(position));
    if (!on_tokens(position, 1, ids.data())) return;
    if (position + 1 < length) step(ids, logits);
  }
}

}  // namespace genrnn
