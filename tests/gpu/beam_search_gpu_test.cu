// The beam search kernels (kernels/beam_ops.hpp) against a plain CPU reference of the host
// search's rules: every extension of every live beam sorted (log-probability, then beam, then
// token), walked in order until `width` continue, those that end before then kept (the first
// `best` of them), and at a request's last step the `best` first. Step after step on fresh
// random logits, with ties within rows and across beams (rows that repeat another's logits),
// random stop automata and space flags, and requests of several widths and lengths side by side.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "kernels/beam_ops.hpp"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

using kernels::BeamCandidate;
using kernels::BeamEnded;
using kernels::BeamRequestShape;
using testing::DeviceArray;
using testing::random_engine;

struct RequestRule {
  int width, best, length;
  bool with_stop;
};

// A random stop automaton of `length` states: about one transition in six completes it.
struct RandomStop {
  int length;
  std::vector<int> transitions, after_space;
  RandomStop(int length, int vocab) : length(length) {
    std::uniform_int_distribution<int> state(0, length - 1);
    std::bernoulli_distribution completes(1.0 / 6);
    for (int k = 0; k < length * vocab; ++k)
      transitions.push_back(completes(random_engine()) ? length : state(random_engine()));
    for (int k = 0; k < length; ++k)
      after_space.push_back(completes(random_engine()) ? length : state(random_engine()));
  }
};

struct LiveBeam {
  double logprob;
  int stop_state, token;
};

// The CPU reference: one request's live beams, trace and ended hypotheses, step by step.
struct ReferenceSearch {
  RequestRule rule;
  const math::StopAutomaton* stop;  // null: none
  std::vector<LiveBeam> live;
  std::vector<std::vector<std::pair<int, int>>> trace;  // [step][k]: (parent, token)
  std::vector<BeamEnded> ended;

  void step(int t, const float* logits, int vocab) {
    struct Candidate {
      double logprob;
      int beam, token;
      bool ends;
    };
    std::vector<Candidate> candidates;
    const bool last = t + 1 == rule.length;
    for (std::size_t b = 0; b < live.size(); ++b) {
      const float* row = logits + b * vocab;
      const double largest = *std::max_element(row, row + vocab);
      double sum = 0;
      for (int v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - largest);
      const double normalizer = largest + std::log(sum);
      for (int v = 0; v < vocab; ++v) {
        const bool ends = last || (stop && stop->next(live[b].stop_state, live[b].token, v) == stop->length);
        candidates.push_back({live[b].logprob + (double(row[v]) - normalizer), static_cast<int>(b), v, ends});
      }
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      if (a.logprob != b.logprob) return a.logprob > b.logprob;
      return a.beam != b.beam ? a.beam < b.beam : a.token < b.token;
    });
    std::vector<LiveBeam> next;
    std::vector<std::pair<int, int>> chosen;
    int ended_now = 0;
    for (const Candidate& c : candidates) {
      if (static_cast<int>(next.size()) == rule.width || (last && ended_now == rule.best)) break;
      if (c.ends) {
        if (ended_now++ < rule.best) ended.push_back({c.logprob, t, c.beam, c.token});
      } else {
        const LiveBeam& parent = live[c.beam];
        next.push_back({c.logprob, stop ? stop->next(parent.stop_state, parent.token, c.token) : 0, c.token});
        chosen.push_back({c.beam, c.token});
      }
    }
    live = std::move(next);
    trace.push_back(std::move(chosen));
  }
};

// Random logits for `rows` rows: each row one of a few patterns (so that some rows repeat
// another's, and beams tie), each pattern values from a small set (so that tokens tie).
std::vector<float> tied_logits(int rows, int vocab) {
  const int patterns = 3;
  std::uniform_int_distribution<int> level(0, 5), pattern(0, patterns - 1);
  std::vector<std::vector<float>> rows_of_pattern(patterns);
  for (int p = 0; p < patterns; ++p)
    for (int v = 0; v < vocab; ++v) rows_of_pattern[p].push_back(0.75f * level(random_engine()) + 0.0137f * p);
  std::vector<float> logits;
  for (int r = 0; r < rows; ++r) {
    const auto& row = rows_of_pattern[pattern(random_engine())];
    logits.insert(logits.end(), row.begin(), row.end());
  }
  return logits;
}

void expect_searches_match(const std::vector<RequestRule>& rules, int vocab) {
  // The requests' rows, stop automata and device memory, as cuda/device_beam_search.cpp lays them out.
  std::vector<RandomStop> stops;
  std::vector<uint8_t> flags;
  std::uniform_int_distribution<int> flag(0, 3), state_count(1, 3);
  for (int v = 0; v < vocab; ++v) flags.push_back(static_cast<uint8_t>(flag(random_engine())));
  for (const RequestRule& rule : rules) stops.emplace_back(rule.with_stop ? state_count(random_engine()) : 1, vocab);
  std::deque<DeviceArray<int>> transitions, after_space;  // not moved as they grow
  const DeviceArray<uint8_t> device_flags(flags);
  std::vector<BeamRequestShape> shapes;
  std::vector<math::StopAutomaton> host_stops;
  std::vector<int> row_request, tokens, identity;
  int rows = 0, max_width = 0, max_best = 0, steps = 0;
  std::size_t finished_slots = 0;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    transitions.emplace_back(stops[r].transitions);
    after_space.emplace_back(stops[r].after_space);
    const RequestRule& rule = rules[r];
    const math::StopAutomaton device_stop{rule.with_stop ? stops[r].length : 0, vocab, transitions.back().get(),
                                          after_space.back().get(), device_flags.get()};
    host_stops.push_back(
        {stops[r].length, vocab, stops[r].transitions.data(), stops[r].after_space.data(), flags.data()});
    shapes.push_back({rows, rule.width, rule.best, rule.length, device_stop, finished_slots});
    rows += rule.width;
    finished_slots += std::size_t(rule.length) * rule.best;
    max_width = std::max(max_width, rule.width);
    max_best = std::max(max_best, rule.best);
    steps = std::max(steps, rule.length);
    row_request.insert(row_request.end(), rule.width, static_cast<int>(r));
  }
  const auto first_tokens = testing::random_ids(rules.size(), vocab);
  std::vector<ReferenceSearch> references;
  for (std::size_t r = 0; r < rules.size(); ++r) {
    references.push_back(
        {rules[r], rules[r].with_stop ? &host_stops[r] : nullptr, {{0.0, 0, first_tokens[r]}}, {}, {}});
    tokens.insert(tokens.end(), rules[r].width, first_tokens[r]);
  }
  for (int row = 0; row < rows; ++row) identity.push_back(row);
  const auto R = rules.size();
  const DeviceArray<BeamRequestShape> requests(shapes);
  const DeviceArray<int> rows_request(row_request), step(std::vector<int>{0}), live_count(std::vector<int>(R, 1)),
      stop_state(std::vector<int>(rows, 0)), token(tokens), gather_from(identity), continuing_count(rows),
      ending_count(rows), trace_parent(std::size_t(steps) * rows), trace_token(std::size_t(steps) * rows),
      finished_count(std::vector<int>(R, 0)), next_stop_state(rows);
  const DeviceArray<double> logprob(std::vector<double>(rows, 0.0)), next_logprob(rows);
  const DeviceArray<BeamCandidate> continuing(std::size_t(rows) * max_width), ending(std::size_t(rows) * max_best);
  const DeviceArray<BeamEnded> finished(finished_slots);
  const kernels::BeamSearchState search{requests.get(),
                                        rows_request.get(),
                                        rows,
                                        max_width,
                                        max_best,
                                        step.get(),
                                        live_count.get(),
                                        logprob.get(),
                                        stop_state.get(),
                                        token.get(),
                                        gather_from.get(),
                                        continuing.get(),
                                        continuing_count.get(),
                                        ending.get(),
                                        ending_count.get(),
                                        trace_parent.get(),
                                        trace_token.get(),
                                        finished.get(),
                                        finished_count.get(),
                                        next_logprob.get(),
                                        next_stop_state.get()};
  for (int t = 0; t < steps; ++t) {
    const auto logits = tied_logits(rows, vocab);
    const DeviceArray<float> device_logits(logits);
    kernels::beam_rank_rows(device_logits.get(), vocab, search, nullptr);
    kernels::beam_select(static_cast<int>(R), search, nullptr);
    testing::finish_launch();
    const auto counts = live_count.download();
    const auto device_logprob = logprob.download();
    const auto device_stop = stop_state.download(), device_token = token.download();
    const auto device_parent = trace_parent.download(), device_trace_token = trace_token.download();
    const auto device_gather = gather_from.download();
    for (std::size_t r = 0; r < R; ++r) {
      SCOPED_TRACE("request " + std::to_string(r) + ", step " + std::to_string(t));
      ReferenceSearch& reference = references[r];
      if (reference.live.empty()) {
        EXPECT_EQ(counts[r], 0);
        continue;
      }
      const int first = shapes[r].first_row;
      reference.step(t, logits.data() + std::size_t(first) * vocab, vocab);
      ASSERT_EQ(counts[r], static_cast<int>(reference.live.size()));
      for (std::size_t k = 0; k < reference.live.size(); ++k) {
        const std::size_t row = first + k, at = std::size_t(t) * rows + row;
        EXPECT_EQ(device_parent[at], reference.trace.back()[k].first) << "beam " << k;
        EXPECT_EQ(device_trace_token[at], reference.trace.back()[k].second) << "beam " << k;
        EXPECT_EQ(device_gather[row], first + reference.trace.back()[k].first) << "beam " << k;
        EXPECT_EQ(device_token[row], reference.live[k].token) << "beam " << k;
        EXPECT_EQ(device_stop[row], reference.live[k].stop_state) << "beam " << k;
        EXPECT_NEAR(device_logprob[row], reference.live[k].logprob, 1e-9) << "beam " << k;
      }
    }
  }
  const auto counts = finished_count.download();
  const auto device_finished = finished.download();
  for (std::size_t r = 0; r < R; ++r) {
    SCOPED_TRACE("request " + std::to_string(r));
    const auto& expected = references[r].ended;
    ASSERT_EQ(counts[r], static_cast<int>(expected.size()));
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const BeamEnded& got = device_finished[shapes[r].first_finished + k];
      EXPECT_EQ(got.step, expected[k].step) << "ended " << k;
      EXPECT_EQ(got.beam, expected[k].beam) << "ended " << k;
      EXPECT_EQ(got.token, expected[k].token) << "ended " << k;
      EXPECT_NEAR(got.logprob, expected[k].logprob, 1e-9) << "ended " << k;
    }
  }
}

TEST(BeamKernels, StepsChooseTheReferencesBeamsAndEndedHypotheses) {
  GENRNN_REQUIRE_GPU();
  // Widths past the vocabulary (every extension kept), one beam, several with stops, lengths
  // that end at different steps; a vocabulary off multiples of 32, and one past a block.
  expect_searches_match({{1, 1, 5, false}, {4, 2, 3, true}, {7, 3, 6, true}, {5, 5, 4, false}}, 37);
  expect_searches_match({{6, 6, 2, false}, {3, 1, 4, true}}, 5);
  expect_searches_match({{8, 4, 3, true}, {2, 2, 3, true}}, testing::sized(1000, 300));
}

TEST(BeamKernels, GatherStateRowsCopiesEachRowFromItsParent) {
  GENRNN_REQUIRE_GPU();
  const int layers = 2, rows = 7, width = 45;
  const auto from = testing::random_uniform<float>(std::size_t(layers) * rows * width, -1.0f, 1.0f);
  const auto parents = testing::random_ids(rows, rows);
  const DeviceArray<float> device_from(from), to(from.size());
  const DeviceArray<int> device_parents(parents);
  kernels::gather_state_rows(device_from.get(), device_parents.get(), layers, rows, width, to.get(), nullptr);
  testing::finish_launch();
  const auto gathered = to.download();
  for (int l = 0; l < layers; ++l)
    for (int r = 0; r < rows; ++r)
      for (int x = 0; x < width; ++x)
        ASSERT_EQ(gathered[(std::size_t(l) * rows + r) * width + x],
                  from[(std::size_t(l) * rows + parents[r]) * width + x])
            << "layer " << l << ", row " << r << ", value " << x;
}

}  // namespace
}  // namespace genrnn
