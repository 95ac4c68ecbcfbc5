#pragma once
#include <cstdint>
#include <vector>

namespace genrnn {

struct SamplingOptions {
  float temperature = 1.0f;  // 0: greedy argmax
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  uint64_t seed = 0;
  // Throws Error naming the option that is out of range.
  void validate() const;
};

// Draws one token from softmax(logits / T) after top-k and top-p filtering. The uniform number
// is Philox-4x32-10 keyed by (seed, stream, step), the same draw the GPU sampler makes.
// Stable for every T > 0 and never returns an index outside [0, vocab).
int sample_token(const float* logits, int vocab, const SamplingOptions& options, uint64_t stream,
                 uint64_t step);

// The probabilities sample_token draws from (zeros for excluded tokens); for tests and tools.
std::vector<double> sampling_distribution(const float* logits, int vocab,
                                          const SamplingOptions& options);

}  // namespace genrnn
