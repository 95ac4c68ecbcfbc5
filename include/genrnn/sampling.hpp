#pragma once
#include <cstdint>
#include <vector>

namespace genrnn {

// The defaults here are everyone's: gen_cuda's flags and the Python package's arguments read them.
struct SamplingOptions {
  float temperature = 0.8f;  // 0: greedy argmax; 0.8 as llama.cpp: a little surer than the model
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off
  uint64_t seed = 0;
  // Throws Error naming the option that is out of range. The decoding engines' entry points
  // (DecodingEngine::decode, TokenSampler::draw) call it; the kernels trust it.
  void validate() const;
};

// Draws one token. The definition below is the one the GPU sampler (kernels/sampling.cu)
// reproduces: both give the same id except where double rounding decides, which is negligible.
//  - T == 0, or a largest logit that is not finite (a +inf, or nothing but -inf and NaN): the
//    argmax, the lowest id among ties; NaN counts as -inf, and a row of NaN gives id 0.
//  - Else, with m the largest logit (NaN ignored), every id weighs, in double,
//    w_v = exp((double(l_v) - m) / double(T)), and 0 for a NaN logit. So 0 <= w_v <= 1, and the
//    argmax weighs exactly 1.
//  - Ids are ordered by weight, heaviest first, equal weights by lower id. Top-k (0 < k < vocab)
//    keeps the first k; then top-p (< 1) keeps the shortest prefix of those whose weights add up
//    to at least top_p * (their sum), at least one id. Everything else weighs 0.
//  - u = uniform_from_bits(philox_draw(seed, stream, step).v[0]) (kernels/philox.cuh),
//    target = double(u) * (sum of the kept weights).
//  - Walking ids 0..vocab-1 in order and adding their kept weights in double, the result is the
//    first id at which target < the running sum; if rounding leaves none, the last id of positive
//    kept weight.
// Stable for every T > 0; never returns an index outside [0, vocab) or a NaN or -inf logit
// (unless every logit is one). Throws Error when vocab < 1.
int sample_token(const float* logits, int vocab, const SamplingOptions& options, uint64_t stream, uint64_t step);

// log(sum over v of exp(logits[v])), in double: a token's log-probability under the model
// (temperature 1) is its logit less this.
double log_normalizer(const float* logits, int vocab);

// The probabilities sample_token draws from: the kept weights over their sum (zeros for excluded
// tokens), or 1 at the argmax in the cases that take it; for tests and tools. Throws as
// sample_token does.
std::vector<double> sampling_distribution(const float* logits, int vocab, const SamplingOptions& options);

}  // namespace genrnn
