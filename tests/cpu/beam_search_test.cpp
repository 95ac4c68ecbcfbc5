// Beam search against a brute-force enumeration on models small enough to enumerate: the most
// likely continuation and the n-best in order with their log-probabilities; width 1 is greedy;
// stop texts; batches of requests as each alone; scoring of sampled texts.
#include <genrnn/error.hpp>
#include <genrnn/generator.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "api/beam_search.hpp"
#include "engine/engine_registry.hpp"

namespace genrnn {
namespace {

Model tiny_model(uint64_t seed, int hidden = 8) {
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abc ", 0);  // 4 tokens
  const ModelConfig config{CellType::lstm, 1, hidden, 0, tokenizer.size(), TokenizerKind::character};
  Model model = Model::initialize(config, std::move(tokenizer), seed);
  // Sharper than PyTorch's initialisation, so that the continuations' probabilities differ.
  for (float& w : model.parameters) w *= 2;
  return model;
}

struct Scored {
  std::vector<int> ids;
  double logprob;
};

// Every continuation of `length` tokens, with its log-probability from fresh prefills of the
// prompt and its prefix (no beam search code involved), most likely first.
std::vector<Scored> enumerate(const Model& model, const std::string& prompt, int length) {
  auto engine = make_decoding_engine("cpu", model.config);
  engine->set_parameters(model.parameters);
  const int V = model.config.vocab_size;
  const std::vector<int> start = model.tokenizer.encode(prompt, UnknownPolicy::error);
  std::vector<Scored> all{{{}, 0.0}};
  for (int t = 0; t < length; ++t) {
    std::vector<Scored> longer;
    for (const Scored& s : all) {
      std::vector<int> input = start;
      input.insert(input.end(), s.ids.begin(), s.ids.end());
      engine->set_state({1, {}, {}});
      std::vector<float> logits;
      engine->prefill(input, logits);
      double largest = *std::max_element(logits.begin(), logits.end()), sum = 0;
      for (float l : logits) sum += std::exp(double(l) - largest);
      for (int v = 0; v < V; ++v) {
        Scored next = s;
        next.ids.push_back(v);
        next.logprob += double(logits[v]) - largest - std::log(sum);
        longer.push_back(next);
      }
    }
    all = longer;
  }
  std::stable_sort(all.begin(), all.end(), [](const Scored& a, const Scored& b) { return a.logprob > b.logprob; });
  return all;
}

GenerateOptions beam(int width, int best, int length) {
  GenerateOptions options;
  options.beam_width = width;
  options.num_samples = best;
  options.length = length;
  return options;
}

TEST(BeamSearch, AnExhaustiveWidthReturnsTheMostLikelyContinuationsInOrder) {
  int greedy_was_not_best = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const Model model = tiny_model(seed);
    const int length = 4;
    const std::vector<Scored> all = enumerate(model, "ab", length);
    Generator generator(model, Device::cpu);
    // 4^3 = 64 hypotheses hold every prefix: exhaustive.
    const std::vector<GeneratedText> best = generator.generate_scored("ab", beam(64, 10, length));
    ASSERT_EQ(best.size(), 10u);
    for (std::size_t k = 0; k < best.size(); ++k) {
      EXPECT_NEAR(best[k].logprob, all[k].logprob, 1e-5) << "seed " << seed << ", rank " << k;
      EXPECT_EQ(best[k].score, best[k].logprob);  // no length penalty
      EXPECT_EQ(model.tokenizer.decode(best[k].ids), best[k].text);
      if (std::abs(all[k].logprob - all[k + 1].logprob) > 1e-4) EXPECT_EQ(best[k].ids, all[k].ids) << "rank " << k;
    }
    GenerateOptions greedy;
    greedy.length = length;
    greedy.sampling.temperature = 0;
    const std::string greedy_text = generator.generate("ab", greedy).front();
    EXPECT_EQ(generator.generate("ab", beam(1, 1, length)).front(), greedy_text) << "width 1 is greedy";
    greedy_was_not_best += greedy_text != best.front().text;
  }
  EXPECT_GT(greedy_was_not_best, 0) << "no model where greedy decoding misses the most likely continuation";
}

TEST(BeamSearch, ScoresAreTheModelsLogProbabilitiesAndTheLengthPenaltyOrdersThem) {
  const Model model = tiny_model(3, 16);
  Generator generator(model, Device::cpu);
  GenerateOptions options = beam(8, 8, 12);
  options.stop = "c";  // hypotheses of different lengths
  options.length_penalty = 1.0f;
  const auto best = generator.generate_scored("a b", options);
  ASSERT_EQ(best.size(), 8u);
  auto engine = make_decoding_engine("cpu", model.config);
  engine->set_parameters(model.parameters);
  std::vector<std::vector<int>> ids;
  for (const GeneratedText& output : best) ids.push_back(output.ids);
  const std::vector<double> logprobs =
      continuation_logprobs(*engine, model.tokenizer.encode("a b", UnknownPolicy::error), {}, ids);
  int stopped = 0;
  for (std::size_t k = 0; k < best.size(); ++k) {
    EXPECT_NEAR(best[k].logprob, logprobs[k], 1e-5);
    const double penalty = std::pow((5.0 + double(best[k].ids.size())) / 6.0, 1.0);
    EXPECT_NEAR(best[k].score, best[k].logprob / penalty, 1e-9);
    if (k > 0) EXPECT_LE(best[k].score, best[k - 1].score);
    // A stop text ends a hypothesis there; the others ran to the length.
    const std::size_t at = best[k].text.find('c');
    if (at != std::string::npos) {
      EXPECT_EQ(at + 1, best[k].text.size());
      ++stopped;
    } else {
      EXPECT_EQ(best[k].ids.size(), 12u);
    }
  }
  EXPECT_GT(stopped, 0);
}

TEST(BeamSearch, BatchedRequestsAreEachAsAloneAndSampledTextsAreScored) {
  const Model model = tiny_model(5, 16);
  Generator generator(model, Device::cpu);
  GenerateOptions options = beam(6, 1, 10);
  const std::vector<StreamRequest> requests = {{"ab", 0, 0, 10, ""}, {"c", 0, 0, 6, "a"}, {"b a", 0, 0, 9, ""}};
  const auto together = generator.generate(requests, options);
  for (std::size_t k = 0; k < requests.size(); ++k) {
    GenerateOptions alone = options;
    alone.length = requests[k].length;
    alone.stop = requests[k].stop;
    EXPECT_EQ(together[k], generator.generate(requests[k].prompt, alone).front()) << "request " << k;
  }
  // Sampled texts: their ids and log-probabilities, each as the model gives it.
  GenerateOptions sampled;
  sampled.length = 15;
  sampled.num_samples = 3;
  sampled.sampling.seed = 8;
  const auto outputs = generator.generate_scored("ab", sampled);
  const auto texts = generator.generate("ab", sampled);
  auto engine = make_decoding_engine("cpu", model.config);
  engine->set_parameters(model.parameters);
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    EXPECT_EQ(outputs[k].text, texts[k]);
    EXPECT_EQ(model.tokenizer.decode(outputs[k].ids), texts[k]);
    const double logprob =
        continuation_logprobs(*engine, model.tokenizer.encode("ab", UnknownPolicy::error), {}, {outputs[k].ids})[0];
    EXPECT_NEAR(outputs[k].logprob, logprob, 1e-5);
    EXPECT_LT(outputs[k].logprob, 0);
  }
}

TEST(BeamSearch, RefusesWhatItCannotDo) {
  const Model model = tiny_model(2);
  Generator generator(model, Device::cpu);
  EXPECT_THROW(generator.generate("ab", beam(2, 3, 5)), Error);  // more best than the width
  const RecurrentState two{2, {}, {}};
  EXPECT_THROW(generator.generate("ab", beam(2, 1, 5), {}, &two), Error);
}

}  // namespace
}  // namespace genrnn
