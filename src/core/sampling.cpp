#include "genrnn/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "genrnn/error.hpp"
#include "kernels/philox.cuh"

namespace genrnn {

void SamplingOptions::validate() const {
  if (!(temperature >= 0) || std::isinf(temperature))
    throw Error("temperature must be a finite number >= 0 (0 = greedy), not " + std::to_string(temperature));
  if (top_k < 0) throw Error("top-k must be >= 0 (0 = off), not " + std::to_string(top_k));
  if (!(top_p > 0 && top_p <= 1)) throw Error("top-p must be in (0, 1], not " + std::to_string(top_p));
}

namespace {

// NaN logits are treated as -infinity: they can never be drawn.
bool less_likely(float a, float b) { return std::isnan(a) ? !std::isnan(b) : a < b; }

int argmax(const float* logits, int vocab) {
  int best = 0;
  for (int v = 1; v < vocab; ++v)
    if (less_likely(logits[best], logits[v])) best = v;
  return best;
}

// Unnormalised probabilities exp((z - max) / T), zero for tokens top-k or top-p exclude.
std::vector<float> filtered_weights(const float* logits, int vocab, const SamplingOptions& options) {
  const float max = logits[argmax(logits, vocab)];
  std::vector<float> weights(vocab);
  for (int v = 0; v < vocab; ++v)
    weights[v] = std::isnan(logits[v]) ? 0.0f : std::exp((logits[v] - max) / options.temperature);
  const bool top_k = options.top_k > 0 && options.top_k < vocab;
  if (!top_k && options.top_p >= 1) return weights;
  // Most probable first; equal weights by lower id, so the choice is deterministic.
  std::vector<int> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weights[a] > weights[b]; });
  int kept = top_k ? options.top_k : vocab;
  if (options.top_p < 1) {
    double total = 0;
    for (int k = 0; k < kept; ++k) total += weights[order[k]];
    double cumulative = 0;
    int prefix = 0;
    while (prefix < kept && cumulative < options.top_p * total) cumulative += weights[order[prefix++]];
    kept = std::max(prefix, 1);
  }
  for (int k = kept; k < vocab; ++k) weights[order[k]] = 0.0f;
  return weights;
}

}  // namespace

int sample_token(const float* logits, int vocab, const SamplingOptions& options, uint64_t stream,
                 uint64_t step) {
  if (vocab < 1) throw Error("cannot sample from an empty vocabulary");
  if (options.temperature == 0) return argmax(logits, vocab);
  const auto weights = filtered_weights(logits, vocab, options);
  float total = 0;
  for (float w : weights) total += w;
  const float target =
      math::uniform_from_bits(math::philox_draw(options.seed, stream, step).v[0]) * total;
  // Walk the ids in order; rounding can leave the target past the sum: then the last kept id.
  float cumulative = 0;
  int last_kept = argmax(logits, vocab);
  for (int v = 0; v < vocab; ++v) {
    if (weights[v] == 0) continue;
    cumulative += weights[v];
    last_kept = v;
    if (target < cumulative) return v;
  }
  return last_kept;
}

std::vector<double> sampling_distribution(const float* logits, int vocab, const SamplingOptions& options) {
  std::vector<double> probabilities(vocab, 0.0);
  if (options.temperature == 0) {
    probabilities[argmax(logits, vocab)] = 1.0;
    return probabilities;
  }
  const auto weights = filtered_weights(logits, vocab, options);
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (int v = 0; v < vocab; ++v) probabilities[v] = weights[v] / total;
  return probabilities;
}

}  // namespace genrnn
