#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "genrnn/error.hpp"
#include "genrnn/sampling.hpp"
#include "kernels/philox.cuh"
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
double chi_square(const std::vector<float>& logits, const SamplingOptions& options, const std::vector<double>& expected,
                  int draws) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) ++counts[sample_token(logits.data(), static_cast<int>(logits.size()), options, 0, i)];
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

// The uniform number sample_token uses for (seed, stream, step).
float uniform(uint64_t seed, uint64_t stream, uint64_t step) {
  return math::uniform_from_bits(math::philox_draw(seed, stream, step).v[0]);
}

TEST(Sampling, DefinitionOnHandComputedCases) {
  // Weights {1, 0, 0, 1}, exact: target = 2u, and the walk returns id 0 while 2u < 1, else id 3.
  const std::vector<float> exact{0.0f, -INFINITY, NAN, 0.0f};
  // Logits {0, ln 3}: weights {1/3, 1} at T = 1, {1/9, 1} at T = 0.5 (a mass of 1/4 and 1/10 on
  // id 0), so id 0 exactly when u * total < w_0, that is u < 1/4 or u < 1/10.
  const std::vector<float> two{0.0f, std::log(3.0f)};
  const SamplingOptions at_one{1.0f, 0, 1.0f, 7}, at_half{0.5f, 0, 1.0f, 7};
  EXPECT_EQ(sampling_distribution(exact.data(), 4, at_one), (std::vector<double>{0.5, 0.0, 0.0, 0.5}));
  EXPECT_NEAR(sampling_distribution(two.data(), 2, at_one)[0], 0.25, 1e-7);
  EXPECT_NEAR(sampling_distribution(two.data(), 2, at_half)[0], 0.1, 1e-7);
  for (int step = 0; step < 2000; ++step) {
    const float u = uniform(7, 3, step);
    EXPECT_EQ(sample_token(exact.data(), 4, at_one, 3, step), u < 0.5f ? 0 : 3);
    if (std::abs(u - 0.25f) > 1e-6f) EXPECT_EQ(sample_token(two.data(), 2, at_one, 3, step), u < 0.25f ? 0 : 1);
    if (std::abs(u - 0.1f) > 1e-6f) EXPECT_EQ(sample_token(two.data(), 2, at_half, 3, step), u < 0.1f ? 0 : 1);
  }
}

TEST(Sampling, TiesGoToTheLowerId) {
  const auto distribution = [](std::vector<float> logits, SamplingOptions options) {
    return sampling_distribution(logits.data(), static_cast<int>(logits.size()), options);
  };
  const auto token = [](std::vector<float> logits, float temperature) {
    return sample_token(logits.data(), static_cast<int>(logits.size()), {temperature, 0, 1.0f, 1}, 0, 0);
  };
  // Argmax: the lowest id of the largest logit, NaN below everything; a largest logit that is not
  // finite takes the argmax at any temperature; nothing but NaN gives id 0.
  EXPECT_EQ(token({NAN, 2.0f, 5.0f, 5.0f, NAN}, 0.0f), 2);
  EXPECT_EQ(token({1.0f, INFINITY, 2.0f, INFINITY}, 1.0f), 1);
  EXPECT_EQ(token({NAN, -INFINITY, -INFINITY}, 1.0f), 1);
  EXPECT_EQ(token({NAN, NAN}, 0.5f), 0);
  // -0 and +0 are equal logits, of equal weight: top-1 keeps the lower id.
  EXPECT_EQ(distribution({-1.0f, -0.0f, 0.0f}, {1.0f, 1, 1.0f, 0}), (std::vector<double>{0.0, 1.0, 0.0}));
  // Top-2 of weights {1/e^2, 1, 1/e, 1, 1}: ids 1 and 3.
  EXPECT_EQ(distribution({1.0f, 3.0f, 2.0f, 3.0f, 3.0f}, {1.0f, 2, 1.0f, 0}),
            (std::vector<double>{0.0, 0.5, 0.0, 0.5, 0.0}));
  // Weights {1, 1/e^2, 1, 1} add up to 3.135: top-p 0.5 needs 1.57 (two of the ties, ids 0 and
  // 2), top-p 0.7 needs 2.19 (all three).
  const std::vector<float> tied{3.0f, 1.0f, 3.0f, 3.0f};
  EXPECT_EQ(distribution(tied, {1.0f, 0, 0.5f, 0}), (std::vector<double>{0.5, 0.0, 0.5, 0.0}));
  const auto p7 = distribution(tied, {1.0f, 0, 0.7f, 0});
  for (int v : {0, 2, 3}) EXPECT_NEAR(p7[v], 1.0 / 3.0, 1e-15);
  EXPECT_EQ(p7[1], 0.0);
  // At T = 1e-20 every weight but the argmax's underflows to 0: top-2 keeps id 3 and the lowest
  // id of weight 0, which is never drawn.
  const std::vector<float> steep{0.0f, -1.0f, -2.0f, 0.5f};
  EXPECT_EQ(distribution(steep, {1e-20f, 2, 1.0f, 0}), (std::vector<double>{0.0, 0.0, 0.0, 1.0}));
  for (int step = 0; step < 100; ++step) EXPECT_EQ(sample_token(steep.data(), 4, {1e-20f, 2, 1.0f, 0}, 0, step), 3);
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
