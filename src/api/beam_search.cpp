#include "api/beam_search.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "api/stop_automaton.hpp"
#include "core/stop_text.hpp"
#include "engine/state_rows.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {
namespace {

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

  // Appends `token`, the hypothesis's log-probability then being `with`. Returns true when its
  // text now holds `stop`, cut just after it.
  bool extend(const Tokenizer& tokenizer, int token, double with, const std::string& stop) {
    const std::string piece = tokenizer.piece(previous, token);
    text += piece;
    ids.push_back(token);
    logprob = with;
    previous = token;
    const std::size_t at = find_new_stop(text, piece.size(), stop);
    if (at == std::string::npos) return false;
    text.resize(at + stop.size());
    return true;
  }
};

// An extension of beam `beam` by token `token`, its log-probability `logprob`.
struct Candidate {
  double logprob;
  int beam;
  int token;
};

// One request's search: its hypotheses still growing (rows `first`.. of the engine's batch) and
// those that have ended.
struct Search {
  const BeamRequest* request;
  std::vector<Hypothesis> live, finished;
  int first = 0;
  std::vector<Candidate> candidates;  // a step's, kept to reuse its memory

  double penalized(const Hypothesis& h) const {
    return h.logprob / std::pow((5.0 + double(h.ids.size())) / 6.0, double(request->length_penalty));
  }

  // Step t: ranks the width x V extensions of the live hypotheses (whose logits start at
  // `logits`), ends those that reach the stop text or the length, and keeps the `width` best of
  // the others as the next live ones, each with its parent's row in `parents`.
  void step(int t, const float* logits, int V, const Tokenizer& tokenizer, std::vector<int>& parents) {
    const BeamRequest& r = *request;
    candidates.clear();
    for (std::size_t b = 0; b < live.size(); ++b) {
      const float* row = logits + b * V;
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
    std::size_t ordered = std::min(candidates.size(), 2 * static_cast<std::size_t>(r.width));
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(ordered), candidates.end(),
                      better);
    std::vector<Hypothesis> next;
    // At the last step every candidate finishes, at one length: only the `best` first can be
    // among the best.
    const bool last = t + 1 == r.length;
    int finished_last = 0;
    for (std::size_t k = 0;
         k < candidates.size() && static_cast<int>(next.size()) < r.width && !(last && finished_last == r.best); ++k) {
      if (k == ordered) {
        std::sort(candidates.begin() + static_cast<std::ptrdiff_t>(k), candidates.end(), better);
        ordered = candidates.size();
      }
      const Candidate& candidate = candidates[k];
      Hypothesis extended = live[candidate.beam];
      if (extended.extend(tokenizer, candidate.token, candidate.logprob, r.stop)) {
        finished.push_back(std::move(extended));
        finished_last += last;
      } else if (last) {
        finished.push_back(std::move(extended));
        ++finished_last;
      } else {
        next.push_back(std::move(extended));
        parents.push_back(first + candidate.beam);
      }
    }
    live = std::move(next);
  }

  std::vector<GeneratedText> best() {
    std::stable_sort(finished.begin(), finished.end(),
                     [&](const Hypothesis& a, const Hypothesis& b) { return penalized(a) > penalized(b); });
    std::vector<GeneratedText> outputs;
    for (std::size_t k = 0; k < finished.size() && static_cast<int>(k) < request->best; ++k)
      outputs.push_back({finished[k].text, finished[k].ids, finished[k].logprob, penalized(finished[k])});
    return outputs;
  }
};

void check(const BeamRequest& request) {
  if (request.width < 1 || request.width > limits::max_streams)
    throw Error("the beam width must be in [1, " + std::to_string(limits::max_streams) + "], not " +
                std::to_string(request.width));
  if (request.best < 1 || request.best > request.width)
    throw Error("a beam search of width " + std::to_string(request.width) + " returns 1 to " +
                std::to_string(request.width) + " hypotheses, not " + std::to_string(request.best));
  if (request.length < 1) throw Error("the length to generate must be at least 1");
  if (!std::isfinite(request.length_penalty)) throw Error("the length penalty must be a finite number");
  if (request.prompt.empty()) throw Error("the prompt is empty: give at least one token to start from");
}

// The searches through the engine's public calls: each step's logits read on the host, each new
// beam's state gathered there from its parent's.
void search_on_host(DecodingEngine& engine, const Tokenizer& tokenizer, std::vector<Search>& searches,
                    std::vector<float>& logits) {
  const ModelConfig& config = engine.config();
  const int V = config.vocab_size;
  std::vector<int> rows;
  for (int t = 0;; ++t) {
    std::vector<int> parents;
    for (Search& search : searches) {
      if (search.live.empty()) continue;
      const float* first = logits.data() + static_cast<std::size_t>(search.first) * V;
      search.step(t, first, V, tokenizer, parents);
    }
    if (parents.empty()) break;
    // Each new hypothesis continues its parent's state with its own token, the requests' rows
    // side by side.
    engine.set_state(rows_of(engine.state(), parents, config.num_layers, config.hidden_size));
    std::vector<std::vector<int>> inputs;
    int row = 0;
    for (Search& search : searches) {
      search.first = row;
      for (const Hypothesis& h : search.live) inputs.push_back({h.previous});
      row += static_cast<int>(search.live.size());
    }
    rows.resize(inputs.size());
    std::iota(rows.begin(), rows.end(), 0);
    engine.prefill_slots(rows, inputs, /*fresh=*/false, logits);
  }
}

// The searches on the engine's device (DecodingEngine::search_beams), from the prompts' logits:
// each request's width of rows starts from its prompt's state; the ended hypotheses' ids are
// read back through the trace, and their texts written here.
void search_on_device(DecodingEngine& engine, const Tokenizer& tokenizer, std::vector<Search>& searches,
                      std::vector<float>& logits) {
  const ModelConfig& config = engine.config();
  BeamPlan plan;
  std::map<std::string, int> stops;  // each stop text's table, made once
  std::vector<int> parents;          // each row's request
  for (std::size_t k = 0; k < searches.size(); ++k) {
    const BeamRequest& request = *searches[k].request;
    int stop = -1;
    if (!request.stop.empty()) {
      const auto [known, added] = stops.emplace(request.stop, static_cast<int>(plan.stops.size()));
      if (added) plan.stops.push_back(stop_table(tokenizer, request.stop));
      stop = known->second;
    }
    plan.requests.push_back({request.width, request.best, request.length, stop, request.prompt.back()});
    parents.insert(parents.end(), request.width, static_cast<int>(k));
  }
  plan.token_flags = token_flags(tokenizer);
  plan.first_logits = std::move(logits);
  engine.set_state(rows_of(engine.state(), parents, config.num_layers, config.hidden_size));
  const BeamTrace trace = engine.search_beams(plan);
  int first = 0;  // the request's first row
  for (std::size_t k = 0; k < searches.size(); ++k) {
    Search& search = searches[k];
    const BeamRequest& request = *search.request;
    for (const EndedBeam& ended : trace.ended[k]) {
      // Live beam `beam` of step t was chosen at step t - 1.
      std::vector<int> ids{ended.token};
      for (int t = ended.step, beam = ended.beam; t > 0; --t) {
        const std::size_t at = static_cast<std::size_t>(t - 1) * trace.rows + first + beam;
        ids.push_back(trace.tokens[at]);
        beam = trace.parents[at];
      }
      std::reverse(ids.begin(), ids.end());
      // The device ended it at its stop text or its length: only the last token can meet the stop.
      Hypothesis hypothesis{{}, "", 0, request.prompt.back()};
      for (int id : ids) hypothesis.extend(tokenizer, id, ended.logprob, request.stop);
      search.finished.push_back(std::move(hypothesis));
    }
    first += request.width;
  }
}

}  // namespace

std::vector<std::vector<GeneratedText>> beam_search(DecodingEngine& engine, const Tokenizer& tokenizer,
                                                    const std::vector<BeamRequest>& requests) {
  const ModelConfig& config = engine.config();
  const int count = static_cast<int>(requests.size());
  if (count < 1 || count > limits::max_streams)
    throw Error("a batch has 1 to " + std::to_string(limits::max_streams) + " requests, not " + std::to_string(count));
  std::size_t beams = 0;
  for (const BeamRequest& request : requests) {
    check(request);
    beams += static_cast<std::size_t>(request.width);
  }
  if (beams > static_cast<std::size_t>(limits::max_streams))
    throw Error("the batch's beams number " + std::to_string(beams) + "; the limit is " +
                std::to_string(limits::max_streams));
  // Every request's prompt, each from its initial state (zeros where it has none).
  RecurrentState start{count, {}, {}};
  const std::size_t values = static_cast<std::size_t>(config.num_layers) * count * config.hidden_size;
  for (int k = 0; k < count; ++k) {
    const RecurrentState& initial = requests[k].initial;
    if (initial.batch > 1 || (!initial.h.empty() && initial.batch != 1))
      throw Error("the initial state has " + std::to_string(initial.batch) + " streams; a beam search starts from 1");
    if (initial.h.empty()) continue;  // zeros
    if (start.h.empty()) start.h.assign(values, 0.0f);
    if (start.c.empty() && !initial.c.empty()) start.c.assign(values, 0.0f);
    set_rows(start, {k}, initial, config.num_layers, config.hidden_size);
  }
  engine.set_state(start);
  std::vector<int> rows(count);
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<std::vector<int>> prompts;
  for (const BeamRequest& request : requests) prompts.push_back(request.prompt);
  std::vector<float> logits;
  engine.prefill_slots(rows, prompts, /*fresh=*/false, logits);

  std::vector<Search> searches;
  for (int k = 0; k < count; ++k)
    searches.push_back({&requests[k], {{{}, "", 0, requests[k].prompt.back()}}, {}, k, {}});
  const bool on_device = engine.searches_beams() &&
                         std::all_of(requests.begin(), requests.end(),
                                     [](const BeamRequest& request) { return request.width <= kMaxDeviceBeamWidth; });
  if (on_device)
    search_on_device(engine, tokenizer, searches, logits);
  else
    search_on_host(engine, tokenizer, searches, logits);
  std::vector<std::vector<GeneratedText>> outputs;
  for (Search& search : searches) outputs.push_back(search.best());
  return outputs;
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
