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

void Engine::decode(const std::vector<float>& first_logits, int length, const SamplingOptions& sampling,
                    const std::vector<DrawKey>& keys, const TokenChunkCallback& on_tokens) {
  const auto streams = static_cast<int>(keys.size());
  if (streams < 1 || first_logits.size() % keys.size() != 0)
    throw Error("decode needs the logits of every stream");
  const int vocab = static_cast<int>(first_logits.size() / keys.size());
  std::vector<float> logits = first_logits;
  std::vector<int> ids(keys.size());
  SamplingOptions stream_sampling = sampling;
  for (int position = 0; position < length; ++position) {
    for (int s = 0; s < streams; ++s) {
      stream_sampling.seed = keys[s].seed;
      ids[s] = sample_token(logits.data() + static_cast<std::size_t>(s) * vocab, vocab, stream_sampling, keys[s].stream,
                            static_cast<uint64_t>(position));
    }
    if (!on_tokens(position, 1, ids.data())) return;
    if (position + 1 < length) step(ids, logits);
  }
}

}  // namespace genrnn
