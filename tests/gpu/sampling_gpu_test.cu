// The sampling kernel (kernels::sample_tokens) against the CPU sampler (genrnn::sample_token):
// the same ids for the same logits and (seed, stream, step) over vocabularies, batches,
// temperatures, top-k and top-p; then its frequencies, exclusions, non-finite logits and batch
// independence on their own. Inputs come from fixed seeds, so a failure repeats.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "genrnn/sampling.hpp"
#include "kernels/sampling_ops.hpp"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"

namespace genrnn {
namespace {

using testing::DeviceArray;
using testing::finish_launch;

// The Philox counters of a batch: stream b draws with (seeds[b], stream_ids[b], steps[b]).
struct Counters {
  std::vector<uint64_t> seeds, stream_ids, steps;
};

// Full 64-bit values, so both halves of every counter word matter.
Counters random_counters(int batch, std::mt19937_64& random) {
  Counters counters;
  for (int b = 0; b < batch; ++b) {
    counters.seeds.push_back(random());
    counters.stream_ids.push_back(random());
    counters.steps.push_back(random());
  }
  return counters;
}

// The kernel's ids for `batch` rows of `vocab` device logits, row b drawn with rows[b].
std::vector<int> gpu_sample(const float* device_logits, int batch, int vocab, const std::vector<SamplingOptions>& rows,
                            const Counters& counters) {
  const DeviceArray<uint64_t> seeds(counters.seeds), stream_ids(counters.stream_ids), steps(counters.steps);
  const DeviceArray<SamplingOptions> options(rows);
  const DeviceArray<int> ids(std::vector<int>(batch, -1));
  kernels::sample_tokens(device_logits, batch, vocab, options.get(), seeds.get(), stream_ids.get(), steps.get(),
                         ids.get(), nullptr);
  finish_launch();
  return ids.download();
}
std::vector<int> gpu_sample(const float* device_logits, int batch, int vocab, const SamplingOptions& options,
                            const Counters& counters) {
  return gpu_sample(device_logits, batch, vocab, std::vector<SamplingOptions>(batch, options), counters);
}

// The CPU sampler's ids for the same rows, options and counters.
std::vector<int> cpu_sample(const std::vector<float>& logits, int batch, int vocab,
                            const std::vector<SamplingOptions>& rows, const Counters& counters) {
  std::vector<int> ids(batch);
  for (int b = 0; b < batch; ++b) {
    SamplingOptions options = rows[b];
    options.seed = counters.seeds[b];
    ids[b] =
        sample_token(logits.data() + std::size_t(b) * vocab, vocab, options, counters.stream_ids[b], counters.steps[b]);
  }
  return ids;
}

// Rows uniform in [-6, 6]; every third row rounded to whole numbers, so that many weights tie
// (at the top-k and top-p boundaries too); one NaN and one -inf in every row of 3 or more.
std::vector<float> test_logits(int batch, int vocab, std::mt19937_64& random) {
  std::uniform_real_distribution<float> uniform(-6.0f, 6.0f);
  std::vector<float> logits(std::size_t(batch) * vocab);
  for (int b = 0; b < batch; ++b) {
    float* row = logits.data() + std::size_t(b) * vocab;
    for (int v = 0; v < vocab; ++v) row[v] = b % 3 == 1 ? std::round(uniform(random)) : uniform(random);
    if (vocab < 3) continue;
    row[(7 * b + 3) % vocab] = NAN;
    row[(13 * b + 5) % vocab] = -INFINITY;
  }
  return logits;
}

// Option set c of the 60 = 5 temperatures x 4 top-k x 3 top-p: 5, 4 and 3 are coprime, so
// c = 0..59 meets every combination once, and any 5 consecutive sets meet every value.
constexpr int kOptionSets = 60;
SamplingOptions option_set(int c) {
  const float temperatures[] = {0.0f, 1e-20f, 0.5f, 1.0f, 1e6f};
  const int top_ks[] = {0, 1, 5, 40};
  const float top_ps[] = {1.0f, 0.9f, 0.5f};
  return {temperatures[c % 5], top_ks[c % 4], top_ps[c % 3], 0};
}

std::string describe(const SamplingOptions& options) {
  std::ostringstream out;
  out << "T " << options.temperature << " top-k " << options.top_k << " top-p " << options.top_p;
  return out.str();
}

// Each row of a launch with its own options (the server's streams each have theirs).
TEST(SamplingGpu, DrawsTheCpuSamplersIds) {
  GENRNN_REQUIRE_GPU();
  // The CPU reference costs about vocab * batch per option set: past this budget a case runs
  // fewer sets (at least 5, which still meet every option value). The host executor runs a
  // smaller budget and fewer steps.
  const long kCpuBudget = 64L * testing::sized(200000, 1000) * 5;
  std::mt19937_64 random(20250611);
  long draws = 0, mismatches = 0;
  std::ostringstream first_mismatches;
  for (int vocab : {2, 50, 96, testing::sized(10000, 1000), testing::sized(200000, 5000)})
    for (int batch : {1, 7, 64}) {
      const auto logits = test_logits(batch, vocab, random);
      const DeviceArray<float> device_logits(logits);
      const int sets = static_cast<int>(std::clamp<long>(kCpuBudget / (long(vocab) * batch), 5, kOptionSets));
      const int steps = vocab <= 96 ? testing::sized(8, 2) : 1;
      for (int set = 0; set < sets; ++set)
        for (int step = 0; step < steps; ++step) {
          std::vector<SamplingOptions> rows;
          for (int b = 0; b < batch; ++b) rows.push_back(option_set((set + b) % kOptionSets));
          const Counters counters = random_counters(batch, random);
          const auto gpu = gpu_sample(device_logits.get(), batch, vocab, rows, counters);
          const auto cpu = cpu_sample(logits, batch, vocab, rows, counters);
          for (int b = 0; b < batch; ++b) {
            ++draws;
            ASSERT_TRUE(gpu[b] >= 0 && gpu[b] < vocab) << gpu[b] << " out of range, vocab " << vocab;
            EXPECT_TRUE(std::isfinite(logits[std::size_t(b) * vocab + gpu[b]]))
                << "a non-finite logit drawn, vocab " << vocab << " " << describe(rows[b]);
            if (gpu[b] != cpu[b] && ++mismatches <= 10)
              first_mismatches << "\n  vocab " << vocab << " batch " << batch << " stream " << b << " "
                               << describe(rows[b]) << ": GPU " << gpu[b] << ", CPU " << cpu[b];
          }
        }
    }
  EXPECT_GE(draws, 5000);
  EXPECT_EQ(mismatches, 0) << "of " << draws << " draws; the first:" << first_mismatches.str();
}

// softmax(logits / T), computed independently in double.
std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double total = 0;
  for (std::size_t v = 0; v < p.size(); ++v) total += p[v] = std::exp((logits[v] - max) / temperature);
  for (double& x : p) x /= total;
  return p;
}

TEST(SamplingGpu, FrequenciesMatchSoftmaxOverTemperature) {
  GENRNN_REQUIRE_GPU();
  // 40 launches (10 on the host executor) of 1000 streams with the same logits: 40,000 draws.
  // Chi-square critical value for 9 degrees of freedom at p = 0.001: 27.88.
  const std::vector<float> row{1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -1.0f, 1.5f, 0.7f, -0.2f, 0.3f};
  const int vocab = 10, batch = 1000, launches = testing::sized(40, 10);
  std::vector<float> logits;
  for (int b = 0; b < batch; ++b) logits.insert(logits.end(), row.begin(), row.end());
  const DeviceArray<float> device_logits(logits);
  for (float temperature : {0.5f, 1.0f, 1.7f, 1e6f}) {
    std::vector<int> counts(vocab, 0);
    for (int launch = 0; launch < launches; ++launch) {
      Counters counters;
      for (int b = 0; b < batch; ++b) {
        counters.seeds.push_back(20261126);
        counters.stream_ids.push_back(b);
        counters.steps.push_back(launch);
      }
      for (int id : gpu_sample(device_logits.get(), batch, vocab, {temperature, 0, 1.0f, 0}, counters)) {
        ASSERT_TRUE(id >= 0 && id < vocab) << id;
        ++counts[id];
      }
    }
    const auto expected = softmax(row, temperature);
    double statistic = 0;
    for (int v = 0; v < vocab; ++v) {
      const double e = expected[v] * batch * launches;
      statistic += (counts[v] - e) * (counts[v] - e) / e;
    }
    EXPECT_LT(statistic, 27.88) << "T " << temperature;
  }
}

TEST(SamplingGpu, TopKAndTopPNeverEmitExcludedIds) {
  GENRNN_REQUIRE_GPU();
  const int vocab = 1000, batch = testing::sized(256, 40), steps = testing::sized(20, 8);
  std::mt19937_64 random(7);
  const auto logits = test_logits(batch, vocab, random);
  const DeviceArray<float> device_logits(logits);
  for (const SamplingOptions& options : {SamplingOptions{1.0f, 5, 1.0f, 0}, SamplingOptions{0.7f, 0, 0.5f, 0},
                                         SamplingOptions{2.0f, 40, 0.9f, 0}, SamplingOptions{1e6f, 5, 0.5f, 0}}) {
    std::vector<std::vector<double>> allowed(batch);
    for (int b = 0; b < batch; ++b)
      allowed[b] = sampling_distribution(logits.data() + std::size_t(b) * vocab, vocab, options);
    std::vector<std::set<int>> seen(batch);
    for (int step = 0; step < steps; ++step) {
      const auto ids = gpu_sample(device_logits.get(), batch, vocab, options, random_counters(batch, random));
      for (int b = 0; b < batch; ++b) {
        ASSERT_TRUE(ids[b] >= 0 && ids[b] < vocab) << ids[b];
        EXPECT_GT(allowed[b][ids[b]], 0.0)
            << "excluded id " << ids[b] << " drawn, row " << b << " " << describe(options);
        seen[b].insert(ids[b]);
      }
    }
    if (options.top_k > 0)
      for (int b = 0; b < batch; ++b) EXPECT_LE(int(seen[b].size()), options.top_k) << "row " << b;
  }
}

TEST(SamplingGpu, NonFiniteLogitsAreNeverDrawn) {
  GENRNN_REQUIRE_GPU();
  const int vocab = 96;
  std::mt19937_64 random(11);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  std::vector<std::vector<float>> rows(5, std::vector<float>(vocab));
  for (int v = 0; v < vocab; ++v) {
    // Mostly NaN and -inf, with a few numbers among them.
    rows[0][v] = v % 3 == 0 ? NAN : v % 3 == 1 ? -INFINITY : v % 15 == 2 ? uniform(random) : -INFINITY;
    rows[1][v] = NAN;                                              // no number at all: id 0
    rows[2][v] = v % 2 ? -INFINITY : NAN;                          // the first -inf
    rows[3][v] = v == 40 || v == 70 ? INFINITY : uniform(random);  // the first +inf
    rows[4][v] = v == 90 ? 2.0f : v % 2 ? -INFINITY : NAN;         // one number: always it
  }
  std::vector<float> logits;
  for (const auto& row : rows) logits.insert(logits.end(), row.begin(), row.end());
  const int batch = static_cast<int>(rows.size());
  const DeviceArray<float> device_logits(logits);
  for (int set = 0; set < kOptionSets; ++set) {
    const SamplingOptions options = option_set(set);
    const Counters counters = random_counters(batch, random);
    const auto gpu = gpu_sample(device_logits.get(), batch, vocab, options, counters);
    EXPECT_EQ(gpu, cpu_sample(logits, batch, vocab, std::vector<SamplingOptions>(batch, options), counters))
        << describe(options);
    EXPECT_TRUE(std::isfinite(logits[gpu[0]])) << gpu[0];
    EXPECT_EQ(gpu[1], 0);
    EXPECT_EQ(gpu[2], 1);
    EXPECT_EQ(gpu[3], 40);
    EXPECT_EQ(gpu[4], 90);
  }
}

TEST(SamplingGpu, AStreamDrawsTheSameWhateverItsBatch) {
  GENRNN_REQUIRE_GPU();
  const int vocab = testing::sized(10000, 2000), batch = testing::sized(64, 24);
  std::mt19937_64 random(3);
  const DeviceArray<float> device_logits(test_logits(batch, vocab, random));
  for (const SamplingOptions& options : {SamplingOptions{1.0f, 40, 0.9f, 0}, SamplingOptions{0.5f, 0, 1.0f, 0}})
    for (int step = 0; step < 5; ++step) {
      Counters all;
      for (int b = 0; b < batch; ++b) {
        all.seeds.push_back(42);
        all.stream_ids.push_back(b);
        all.steps.push_back(step);
      }
      const auto together = gpu_sample(device_logits.get(), batch, vocab, options, all);
      for (int b = 0; b < batch; ++b) {
        const Counters alone{{all.seeds[b]}, {all.stream_ids[b]}, {all.steps[b]}};
        const auto id = gpu_sample(device_logits.get() + std::size_t(b) * vocab, 1, vocab, options, alone);
        EXPECT_EQ(id[0], together[b]) << "stream " << b << " step " << step << " " << describe(options);
      }
    }
}

}  // namespace
}  // namespace genrnn
