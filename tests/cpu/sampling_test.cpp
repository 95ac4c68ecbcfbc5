#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "genrnn/error.hpp"
#include "genrnn/sampling.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

using testing::random_uniform;

// softmax(logits / T) computed independently, in double.
std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  for (std::size_t v = 0; v < p.size(); ++v) p[v] = std::exp((logits[v] - max) / temperature);
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  for (auto& x : p) x /= total;
  return p;
}

// Pearson's chi-square statistic of `draws` samples against `expected` probabilities.
double chi_square(const std::vector<float>& logits, const SamplingOptions& options,
                  const std::vector<double>& expected, int draws) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i)
    ++counts[sample_token(logits.data(), static_cast<int>(logits.size()), options, 0, i)];
  double statistic = 0;
  for (std::size_t v = 0; v < counts.size(); ++v) {
    const double e = expected[v] * draws;
    statistic += (counts[v] - e) * (counts[v] - e) / e;
  }
  return statistic;
}

int argmax(const std::vector<float>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

TEST(Sampling, ZeroAndTinyTemperatureAreArgmax) {
  for (int trial = 0; trial < 50; ++trial) {
    const auto logits = random_uniform<float>(97, -5, 5);
    SamplingOptions greedy{0.0f, 0, 1.0f, 1};
    SamplingOptions tiny{1e-30f, 0, 1.0f, static_cast<uint64_t>(trial)};
    EXPECT_EQ(sample_token(logits.data(), 97, greedy, 0, trial), argmax(logits));
    EXPECT_EQ(sample_token(logits.data(), 97, tiny, 0, trial), argmax(logits));
  }
}

TEST(Sampling, FrequenciesMatchSoftmaxOverTemperature) {
  // Fixed logits and seed: the test is deterministic; chi-square critical value for 9 degrees
  // of freedom at p = 0.001 is 27.88.
  const std::vector<float> logits{1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -1.0f, 1.5f, 0.7f, -0.2f, 0.3f};
  for (float temperature : {0.5f, 1.0f, 1.7f}) {
    const SamplingOptions options{temperature, 0, 1.0f, 20261126};
    EXPECT_LT(chi_square(logits, options, softmax(logits, temperature), 40000), 27.88) << "T " << temperature;
  }
}

TEST(Sampling, HugeTemperatureIsNearlyUniformAndFinite) {
  const std::vector<float> logits{30.0f, -30.0f, 0.0f, 5.0f, 88.0f, -88.0f, 1.0f, 2.0f, 3.0f, 4.0f};
  const SamplingOptions options{1e6f, 0, 1.0f, 99};
  EXPECT_LT(chi_square(logits, options, softmax(logits, 1e6), 40000), 27.88);
}

TEST(Sampling, TopKNeverEmitsTokensOutsideTheK) {
  for (int trial = 0; trial < 200; ++trial) {
    const auto logits = random_uniform<float>(50, -3, 3);
    std::vector<int> order(50);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
    const SamplingOptions options{1.5f, 3, 1.0f, static_cast<uint64_t>(trial)};
    const int token = sample_token(logits.data(), 50, options, trial % 7, trial);
    EXPECT_TRUE(token == order[0] || token == order[1] || token == order[2]) << token;
  }
}

TEST(Sampling, TopPKeepsTheSmallestNucleus) {
  const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  const SamplingOptions options{1.0f, 0, 0.75f, 5};
  const auto p = sampling_distribution(logits.data(), 4, options);
  // 0.5 + 0.3 >= 0.75: tokens 0 and 1 remain, renormalised.
  EXPECT_NEAR(p[0], 0.625, 1e-6);
  EXPECT_NEAR(p[1], 0.375, 1e-6);
  EXPECT_EQ(p[2], 0.0);
  EXPECT_EQ(p[3], 0.0);
  for (int step = 0; step < 2000; ++step) EXPECT_LT(sample_token(logits.data(), 4, options, 1, step), 2);
}

TEST(Sampling, TopPAlwaysKeepsTheBestToken) {
  for (int trial = 0; trial < 100; ++trial) {
    const auto logits = random_uniform<float>(20, -4, 4);
    const SamplingOptions options{1.0f, 0, 1e-6f, static_cast<uint64_t>(trial)};
    EXPECT_EQ(sample_token(logits.data(), 20, options, 0, trial), argmax(logits));
  }
}

TEST(Sampling, SameSeedSameTokensOtherStreamOtherTokens) {
  const auto logits = random_uniform<float>(200, -1, 1);
  const SamplingOptions options{1.0f, 0, 1.0f, 42};
  std::vector<int> a, b, other_stream;
  for (int step = 0; step < 100; ++step) {
    a.push_back(sample_token(logits.data(), 200, options, 3, step));
    b.push_back(sample_token(logits.data(), 200, options, 3, step));
    other_stream.push_back(sample_token(logits.data(), 200, options, 4, step));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other_stream);
}

TEST(Sampling, NeverReturnsNaNOrOutOfRangeTokens) {
  std::vector<float> logits = random_uniform<float>(30, -2, 2);
  logits[4] = std::nanf("");
  logits[17] = -INFINITY;
  for (float temperature : {0.0f, 1e-20f, 0.7f, 1e20f})
    for (int step = 0; step < 500; ++step) {
      const SamplingOptions options{temperature, step % 3 == 0 ? 5 : 0, step % 2 ? 0.9f : 1.0f, 1};
      const int token = sample_token(logits.data(), 30, options, 0, step);
      ASSERT_GE(token, 0);
      ASSERT_LT(token, 30);
      ASSERT_NE(token, 4) << "a NaN logit was drawn";
      ASSERT_NE(token, 17) << "a -inf logit was drawn";
    }
}

TEST(Sampling, OptionsAreValidated) {
  EXPECT_THROW((SamplingOptions{-1.0f, 0, 1.0f, 0}.validate()), Error);
  EXPECT_THROW((SamplingOptions{NAN, 0, 1.0f, 0}.validate()), Error);
  EXPECT_THROW((SamplingOptions{1.0f, -2, 1.0f, 0}.validate()), Error);
  EXPECT_THROW((SamplingOptions{1.0f, 0, 0.0f, 0}.validate()), Error);
  EXPECT_THROW((SamplingOptions{1.0f, 0, 1.5f, 0}.validate()), Error);
  EXPECT_NO_THROW((SamplingOptions{0.0f, 5, 0.9f, 0}.validate()));
}

}  // namespace
}  // namespace genrnn
