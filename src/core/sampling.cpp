#include "genrnn/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

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
  if (vocab < 1) throw Error("cannot sample from an empty vocabulary");
  int best = 0;
  for (int v = 1; v < vocab; ++v)
    if (less_likely(logits[best], logits[v])) best = v;
  return best;
}

// Calls use(weight_of), where weight_of(v) is id v's kept weight as sampling.hpp defines it, and
// returns its result. Without top-k and top-p the weights are computed on the fly, allocating
// nothing; with them they are stored and sorted once.
template <class Use>
auto with_kept_weights(const float* logits, int vocab, const SamplingOptions& options, float max, Use use) {
  const double temperature = options.temperature;
  const auto weight_of = [=](int v) {
    return std::isnan(logits[v]) ? 0.0 : std::exp((double(logits[v]) - double(max)) / temperature);
  };
  const bool top_k = options.top_k > 0 && options.top_k < vocab;
  const bool top_p = options.top_p < 1;
  if (!top_k && !top_p) return use(weight_of);

  std::vector<double> weights(vocab);
  for (int v = 0; v < vocab; ++v) weights[v] = weight_of(v);
  std::vector<int> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  // Heaviest first, equal weights by lower id; top-k needs only its first k in order.
  const auto heavier = [&](int a, int b) { return weights[a] != weights[b] ? weights[a] > weights[b] : a < b; };
  int kept = top_k ? options.top_k : vocab;
  if (top_k)
    std::partial_sort(order.begin(), order.begin() + kept, order.end(), heavier);
  else
    std::sort(order.begin(), order.end(), heavier);
  if (top_p) {
    double total = 0;
    for (int i = 0; i < kept; ++i) total += weights[order[i]];
    const double nucleus = double(options.top_p) * total;
    double cumulative = 0;
    int prefix = 0;
    while (prefix < kept && cumulative < nucleus) cumulative += weights[order[prefix++]];
    kept = std::max(prefix, 1);
  }
  for (int i = kept; i < vocab; ++i) weights[order[i]] = 0.0;
  return use([&](int v) { return weights[v]; });
}

}  // namespace

int sample_token(const float* logits, int vocab, const SamplingOptions& options, uint64_t stream, uint64_t step) {
  const int best = argmax(logits, vocab);
  if (options.temperature == 0 || !std::isfinite(logits[best])) return best;
  const float u = math::uniform_from_bits(math::philox_draw(options.seed, stream, step).v[0]);
  return with_kept_weights(logits, vocab, options, logits[best], [&](auto weight_of) {
    double total = 0;
    for (int v = 0; v < vocab; ++v) total += weight_of(v);
    const double target = double(u) * total;
    double cumulative = 0;
    int last_kept = best;
    for (int v = 0; v < vocab; ++v) {
      const double weight = weight_of(v);
      if (weight == 0) continue;
      cumulative += weight;
      last_kept = v;
      if (target < cumulative) return v;
    }
    return last_kept;
  });
}

double log_normalizer(const float* logits, int vocab) {
  const double largest = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int v = 0; v < vocab; ++v) sum += std::exp(double(logits[v]) - largest);
  return largest + std::log(sum);
}

std::vector<double> sampling_distribution(const float* logits, int vocab, const SamplingOptions& options) {
  const int best = argmax(logits, vocab);
  std::vector<double> probabilities(vocab, 0.0);
  if (options.temperature == 0 || !std::isfinite(logits[best])) {
    probabilities[best] = 1.0;
    return probabilities;
  }
  with_kept_weights(logits, vocab, options, logits[best], [&](auto weight_of) {
    double total = 0;
    for (int v = 0; v < vocab; ++v) total += probabilities[v] = weight_of(v);
    for (double& p : probabilities) p /= total;
  });
  return probabilities;
}

}  // namespace genrnn
