#include "api/beam_search.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/state_rows.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {
namespace {

// log(sum_v exp(logits[v])), in double: a token's log-probability is its logit less this.
double log_normalizer(const float* logits, int vocab) {
  const double largest = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int v = 0; v < vocab; ++v) sum += std::exp(double(logits[v]) - largest);
  return largest + std::log(sum);
}

// `count` streams that each start from `initial` (one stream; empty h: zeros).
RecurrentState copies(const RecurrentState& initial, int count, const ModelConfig& config) {
  if (initial.h.empty()) return {count, {}, {}};
  return rows_of(initial, std::vector<int>(count, 0), config.num_layers, config.hidden_size);
}

struct Hypothesis {
  std::vector<int> ids;
  std::string text;
  double logprob = 0;
  int previous = -1;  // the last token fed, for Tokenizer::piece
};

// An extension of beam `beam` by token `token`, its log-probability `logprob`.
struct Candidate {
  double logprob;
  int beam;
  int token;
};

}  // namespace

std::vector<GeneratedText> beam_search(DecodingEngine& engine, const Tokenizer& tokenizer, const BeamRequest& request) {
  const ModelConfig& config = engine.config();
  const int V = config.vocab_size;
  if (request.width < 1 || request.width > limits::max_streams)
    throw Error("the beam width must be in [1, " + std::to_string(limits::max_streams) + "], not " +
                std::to_string(request.width));
  if (request.best < 1 || request.best > request.width)
    throw Error("a beam search of width " + std::to_string(request.width) + " returns 1 to " +
                std::to_string(request.width) + " hypotheses, not " + std::to_string(request.best));
  if (request.length < 1) throw Error("the length to generate must be at least 1");
  if (!std::isfinite(request.length_penalty)) throw Error("the length penalty must be a finite number");
  if (request.prompt.empty()) throw Error("the prompt is empty: give at least one token to start from");
  auto penalized = [&](const Hypothesis& h) {
    return h.logprob / std::pow((5.0 + double(h.ids.size())) / 6.0, double(request.length_penalty));
  };

  engine.set_state(copies(request.initial, 1, config));
  std::vector<float> logits;
  engine.prefill(request.prompt, logits);
  std::vector<Hypothesis> live{{{}, "", 0, request.prompt.back()}}, finished;
  for (int t = 0; t < request.length && !live.empty(); ++t) {
    std::vector<Candidate> candidates;
    candidates.reserve(live.size() * static_cast<std::size_t>(V));
    for (std::size_t b = 0; b < live.size(); ++b) {
      const float* row = logits.data() + b * V;
      const double normalizer = log_normalizer(row, V);
      for (int v = 0; v < V; ++v)
        candidates.push_back({live[b].logprob + (double(row[v]) - normalizer), static_cast<int>(b), v});
    }
    // The best first: every hypothesis now has t + 1 tokens, so the length penalty orders them
    // as their log-probabilities do. Ordered as far as needed: 2 x width at first, the rest only
    // when stop texts finish that many.
    const auto better = [](const Candidate& a, const Candidate& b) {
      if (a.logprob != b.logprob) return a.logprob > b.logprob;
      return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
    };
    std::size_t ordered = std::min(candidates.size(), 2 * static_cast<std::size_t>(request.width));
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(ordered), candidates.end(),
                      better);
    std::vector<Hypothesis> next;
    std::vector<int> parents;
    // At the last step every candidate finishes, at one length: only the `best` first can be
    // among the best.
    const bool last = t + 1 == request.length;
    int finished_last = 0;
    for (std::size_t k = 0; k < candidates.size() && static_cast<int>(next.size()) < request.width &&
                            !(last && finished_last == request.best);
         ++k) {
      if (k == ordered) {
        std::sort(candidates.begin() + static_cast<std::ptrdiff_t>(k), candidates.end(), better);
        ordered = candidates.size();
      }
      const Candidate& candidate = candidates[k];
      Hypothesis extended = live[candidate.beam];
      const std::string piece = tokenizer.piece(extended.previous, candidate.token);
      const std::size_t before = extended.text.size();
      extended.text += piece;
      extended.ids.push_back(candidate.token);
      extended.logprob = candidate.logprob;
      extended.previous = candidate.token;
      const std::string& stop = request.stop;
      const std::size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
      const std::size_t at = stop.empty() ? std::string::npos : extended.text.find(stop, from);
      if (at != std::string::npos) {
        extended.text.resize(at + stop.size());
        finished.push_back(std::move(extended));
        finished_last += last;
      } else if (last) {
        finished.push_back(std::move(extended));
        ++finished_last;
      } else {
        next.push_back(std::move(extended));
        parents.push_back(candidate.beam);
      }
    }
    live = std::move(next);
    if (live.empty()) break;
    // Each new beam continues its parent's state with its own token.
    engine.set_state(rows_of(engine.state(), parents, config.num_layers, config.hidden_size));
    std::vector<int> slots(live.size());
    std::iota(slots.begin(), slots.end(), 0);
    std::vector<std::vector<int>> inputs;
    for (const Hypothesis& h : live) inputs.push_back({h.previous});
    engine.prefill_slots(slots, inputs, /*fresh=*/false, logits);
  }
  std::stable_sort(finished.begin(), finished.end(),
                   [&](const Hypothesis& a, const Hypothesis& b) { return penalized(a) > penalized(b); });
  std::vector<GeneratedText> best;
  for (std::size_t k = 0; k < finished.size() && static_cast<int>(k) < request.best; ++k)
    best.push_back({finished[k].text, finished[k].ids, finished[k].logprob, penalized(finished[k])});
  return best;
}

std::vector<double> continuation_logprobs(DecodingEngine& engine, const std::vector<int>& prompt,
                                          const RecurrentState& initial,
                                          const std::vector<std::vector<int>>& continuations) {
  const ModelConfig& config = engine.config();
  const int V = config.vocab_size, streams = static_cast<int>(continuations.size());
  std::vector<double> logprobs(continuations.size(), 0.0);
  if (streams == 0) return logprobs;
  std::size_t longest = 0;
  for (const auto& ids : continuations) longest = std::max(longest, ids.size());
  engine.set_state(copies(initial, streams, config));
  std::vector<int> prompts;
  for (int s = 0; s < streams; ++s) prompts.insert(prompts.end(), prompt.begin(), prompt.end());
  std::vector<float> logits;
  engine.prefill(prompts, logits);
  std::vector<int> slots(continuations.size());
  std::iota(slots.begin(), slots.end(), 0);
  for (std::size_t t = 0; t < longest; ++t) {
    std::vector<std::vector<int>> inputs(continuations.size(), std::vector<int>{0});  // 0: a stream already done
    for (int s = 0; s < streams; ++s) {
      if (t >= continuations[s].size()) continue;
      const int token = continuations[s][t];
      if (token < 0 || token >= V) throw Error("token " + std::to_string(token) + " is not in the vocabulary");
      const float* row = logits.data() + static_cast<std::size_t>(s) * V;
      logprobs[s] += double(row[token]) - log_normalizer(row, V);
      inputs[s] = {token};
    }
    if (t + 1 < longest) engine.prefill_slots(slots, inputs, /*fresh=*/false, logits);
  }
  return logprobs;
}

}  // namespace genrnn
