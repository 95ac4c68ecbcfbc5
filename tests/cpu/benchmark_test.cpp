#include <gtest/gtest.h>

#include "genrnn/benchmark.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"
#include "genrnn/threads.hpp"

namespace genrnn {
namespace {

BenchCase small_case(BenchTest test) {
  BenchCase c;
  c.test = test;
  c.device = Device::cpu;
  c.model = {CellType::gru, 2, 16, 8, 30, TokenizerKind::character};
  c.batch = 3;
  c.seq_len = 7;
  c.n_decode = 5;
  return c;
}

TEST(Benchmark, EveryTestCountsItsTokensAndMeasuresARate) {
  const BenchTiming timing{0, 3, 1};
  const std::pair<BenchTest, int64_t> expected[] = {
      {BenchTest::train, 21}, {BenchTest::prefill, 21}, {BenchTest::decode, 15}, {BenchTest::sample, 3}};
  for (const auto& [test, tokens] : expected) {
    const BenchResult r = run_benchmark(small_case(test), timing);
    EXPECT_EQ(r.tokens, tokens) << to_string(test);
    EXPECT_GT(r.mean_tokens_per_second, 0) << to_string(test);
    EXPECT_GE(r.stddev_tokens_per_second, 0) << to_string(test);
    EXPECT_EQ(r.device, "cpu");
    EXPECT_EQ(r.engine, "cpu");
    EXPECT_TRUE(r.gpu.empty());
  }
}

TEST(Benchmark, BeamCountsEachRequestsPositionsAndSaysWhereItSearched) {
  BenchCase beam = small_case(BenchTest::beam);
  beam.beam_width = 3;
  const BenchResult r = run_benchmark(beam, {0, 2, 1});
  EXPECT_EQ(r.tokens, 15);  // 3 requests x 5 positions, whatever the width
  EXPECT_GT(r.mean_tokens_per_second, 0);
  EXPECT_EQ(r.decoder, "host");
  EXPECT_EQ(parse_bench_test("beam"), BenchTest::beam);
  beam.beam_width = limits::max_streams;  // 3 requests of it are too many beams
  EXPECT_THROW(run_benchmark(beam, {0, 1, 1}), Error);
}

TEST(Benchmark, DecodeReportsItsDecoderAndTheLatencyOfEachToken) {
  const BenchResult r = run_benchmark(small_case(BenchTest::decode), {1, 2, 1});
  EXPECT_EQ(r.decoder, "cpu");
  EXPECT_TRUE(r.decoder_note.empty());
  EXPECT_GT(r.token_latency_us_p50, 0);
  EXPECT_GE(r.token_latency_us_p99, r.token_latency_us_p50);
  const BenchResult train = run_benchmark(small_case(BenchTest::train), {0, 1, 1});
  EXPECT_TRUE(train.decoder.empty());
  EXPECT_EQ(train.token_latency_us_p50, 0);
}

TEST(Benchmark, ACpuCaseRunsWithTheThreadsItAsksForAndSaysSo) {
  const int before = cpu_threads();
  ASSERT_GE(before, 1);
  BenchCase one_thread = small_case(BenchTest::prefill);
  one_thread.threads = 1;
  EXPECT_EQ(run_benchmark(one_thread, {0, 1, 1}).threads, 1);
  EXPECT_EQ(cpu_threads(), 1);
  set_cpu_threads(before);
  EXPECT_EQ(run_benchmark(small_case(BenchTest::prefill), {0, 1, 1}).threads, before);  // 0: as they are
  EXPECT_THROW(set_cpu_threads(0), Error);
  EXPECT_THROW(set_cpu_threads(1025), Error);
  EXPECT_GE(available_cores(), 1);
}

TEST(Benchmark, RejectsBadTimingAndNames) {
  EXPECT_THROW(run_benchmark(small_case(BenchTest::train), {0, 0, 1}), Error);
  EXPECT_THROW(parse_bench_test("inference"), Error);
  BenchCase graph_on_cpu = small_case(BenchTest::decode);
  graph_on_cpu.decoder = "graph";  // a GPU engine's decoder
  EXPECT_THROW(run_benchmark(graph_on_cpu, {0, 1, 1}), Error);
  EXPECT_EQ(parse_bench_test("decode"), BenchTest::decode);
}

TEST(Benchmark, StandardCpuSuiteExpandsInTheAgreedOrder) {
  const auto cases = standard_bench_cases(std::string(GENRNN_SOURCE_DIR) + "/bench/standard.json", "cpu", Device::cpu);
  // Per model: train, prefill, one decode per decode batch; then the sampler per vocab x batch.
  ASSERT_EQ(cases.size(), 11u);
  EXPECT_EQ(cases[0].config_name, "seed");
  EXPECT_EQ(cases[0].test, BenchTest::train);
  EXPECT_EQ(cases[0].model.embedding_dim, 0);
  EXPECT_EQ(cases[0].model.vocab_size, 82);
  EXPECT_EQ(cases[0].batch, 44);
  EXPECT_EQ(cases[1].test, BenchTest::prefill);
  EXPECT_EQ(cases[2].test, BenchTest::decode);
  EXPECT_EQ(cases[2].batch, 1);
  EXPECT_EQ(cases[3].config_name, "char256");
  EXPECT_EQ(cases[6].config_name, "word");
  EXPECT_EQ(cases[6].model.vocab_size, 10000);
  EXPECT_EQ(cases[9].test, BenchTest::sample);
  EXPECT_EQ(cases[10].model.vocab_size, 10000);
  const auto gpu = standard_bench_cases(std::string(GENRNN_SOURCE_DIR) + "/bench/standard.json", "gpu", Device::cuda);
  EXPECT_EQ(gpu.size(), 3u * (2 + 3) + 3 * 2);
  EXPECT_THROW(standard_bench_cases(std::string(GENRNN_SOURCE_DIR) + "/bench/standard.json", "tpu", Device::cpu),
               Error);
}

}  // namespace
}  // namespace genrnn
