// The persistent decoder against the CPU engine: the same ids for greedy decoding and for seeded
// sampling with each sampling option, every cell, 1-3 layers, one-hot and embedded input,
// 1, 3 and 64 streams, and the same final state; and its fallback to the graph decoder.
#include <gtest/gtest.h>

#include <tuple>

#include "engine/engine_registry.hpp"
#include "genrnn/genrnn.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/numeric.hpp"
#if GENRNN_SIMT
#include "tests/simt/executor.hpp"
#endif

namespace genrnn {
namespace {

struct PersistentCase {
  CellType cell;
  int layers;
  int embedding;
};

std::string case_name(const ::testing::TestParamInfo<PersistentCase>& info) {
  return to_string(info.param.cell) + "_l" + std::to_string(info.param.layers) + "_e" +
         std::to_string(info.param.embedding);
}

EngineOptions persistent() {
  EngineOptions options;
  options.decoder = "persistent";
  return options;
}

// Ids [position][stream] and what the decode reported.
std::pair<std::vector<int>, DecodeStats> decode_all(DecodingEngine& engine, const std::vector<float>& logits,
                                                    int length, const SamplingOptions& sampling,
                                                    const std::vector<DrawKey>& keys) {
  std::vector<int> ids;
  const DecodeStats stats = engine.decode(logits, length, sampling, keys, [&](int, int positions, const int* chunk) {
    ids.insert(ids.end(), chunk, chunk + static_cast<std::ptrdiff_t>(positions) * keys.size());
    return true;
  });
  return {ids, stats};
}

// A random start for `streams` streams: the state (c too, for a cell with one), prompts of
// `prompt_length`, and the streams' keys.
struct Start {
  RecurrentState state;
  std::vector<int> prompts;
  std::vector<DrawKey> keys;
};
Start random_start(const ModelConfig& config, int streams, int prompt_length) {
  const std::size_t state_size = static_cast<std::size_t>(config.num_layers) * streams * config.hidden_size;
  Start start{{streams, testing::random_uniform<float>(state_size, -0.5f, 0.5f),
               has_cell_state(config) ? testing::random_uniform<float>(state_size, -0.5f, 0.5f) : std::vector<float>{}},
              testing::random_ids(static_cast<std::size_t>(streams) * prompt_length, config.vocab_size),
              std::vector<DrawKey>(static_cast<std::size_t>(streams))};
  for (int s = 0; s < streams; ++s) start.keys[s] = {uint64_t(11 + s), uint64_t(s)};
  return start;
}

// The CPU engine and the persistent decoder (what it reported, too) from the same weights and
// start, `length` tokens each; both from the CPU's logits after the prompts: a draw within ~1e-6
// of a boundary could flip, which so few draws are most unlikely to meet.
struct BothDecodes {
  std::vector<int> cpu_ids, gpu_ids;
  DecodeStats gpu_stats;
  RecurrentState cpu_state, gpu_state;
};
BothDecodes decode_on_both(const ModelConfig& config, const std::vector<float>& weights, const Start& start,
                           const SamplingOptions& sampling, int length) {
  auto cpu = make_decoding_engine("cpu", config);
  auto gpu = make_decoding_engine("fused", config, persistent());
  std::vector<float> logits, unused;
  for (auto* engine : {cpu.get(), gpu.get()}) {
    engine->set_parameters(weights);
    engine->set_state(start.state);
  }
  cpu->prefill(start.prompts, logits);
  gpu->prefill(start.prompts, unused);
  BothDecodes both;
  both.cpu_ids = decode_all(*cpu, logits, length, sampling, start.keys).first;
  std::tie(both.gpu_ids, both.gpu_stats) = decode_all(*gpu, logits, length, sampling, start.keys);
  both.cpu_state = cpu->state();
  both.gpu_state = gpu->state();
  return both;
}

void expect_the_cpus_ids_and_state(const BothDecodes& both) {
  EXPECT_EQ(both.gpu_ids, both.cpu_ids);
  EXPECT_LT(testing::max_relative_error(both.gpu_state.h, both.cpu_state.h), 1e-5);
  EXPECT_LT(testing::max_relative_error(both.gpu_state.c, both.cpu_state.c), 1e-5);
}

SamplingOptions greedy() {
  SamplingOptions options;
  options.temperature = 0;
  return options;
}

class PersistentDecoderVsCpu : public ::testing::TestWithParam<PersistentCase> {
 protected:
  // H not a multiple of 32 (smaller on the host executor, which runs every lane's shuffles).
  ModelConfig config() const {
    return {GetParam().cell,         GetParam().layers, testing::sized(37, 13), GetParam().embedding, 13,
            TokenizerKind::character};
  }
};

TEST_P(PersistentDecoderVsCpu, DrawsTheCpusTokensAndLeavesItsState) {
  GENRNN_REQUIRE_ENGINE("fused");
  const ModelConfig config = this->config();
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
  const int length = 18;  // past one chunk of ids
  SamplingOptions hot, top_k, top_p, both;
  hot.temperature = 1.3f;
  top_k.top_k = 3;
  top_p.top_p = 0.6f;
  both.temperature = 0.7f, both.top_k = 5, both.top_p = 0.8f;
  // Its kernel runs the cells' per-unit bodies only: a cell with row stages declines.
  const math::RowStages stages = describe_cell(config.cell).row_stages;
  const bool declines = stages.projections() || stages.cell();
  for (int streams : {1, 3, 64}) {
    const Start start = random_start(config, streams, 3);
    // On the host executor, 64 streams run greedy and every option at once: its bisections
    // for top-k and top-p cost it 64 blocks' worth of shuffles each.
    const bool many = streams == 64 && testing::on_host_executor();
    for (const SamplingOptions& sampling : many ? std::vector<SamplingOptions>{greedy(), both}
                                                : std::vector<SamplingOptions>{greedy(), hot, top_k, top_p, both}) {
      SCOPED_TRACE(std::to_string(streams) + " streams, T " + std::to_string(sampling.temperature) + " top-k " +
                   std::to_string(sampling.top_k) + " top-p " + std::to_string(sampling.top_p));
      const BothDecodes decodes = decode_on_both(config, weights, start, sampling, length);
      if (declines) {  // the graph decoder runs it, and the note says why
        EXPECT_EQ(decodes.gpu_stats.decoder, "graph");
        EXPECT_NE(decodes.gpu_stats.note.find("layer normalisations"), std::string::npos) << decodes.gpu_stats.note;
        expect_the_cpus_ids_and_state(decodes);
        return;
      }
      ASSERT_EQ(decodes.gpu_stats.decoder, "persistent") << decodes.gpu_stats.note;
      expect_the_cpus_ids_and_state(decodes);
    }
  }
}

std::vector<PersistentCase> every_cell_and_depth() {
  std::vector<PersistentCase> cases;
  for (CellType cell : testing::every_cell())
    for (int layers : {1, 2, 3})
      for (int embedding : {0, 6}) cases.push_back({cell, layers, embedding});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(CellsAndDepths, PersistentDecoderVsCpu, ::testing::ValuesIn(every_cell_and_depth()),
                         case_name);

TEST(PersistentDecoder, BlocksOfSeveralUnitsAndHeadRowsAndStreamsPastOneTileMatchTheCpu) {
  GENRNN_REQUIRE_ENGINE("fused");
  // More units than multiprocessors (two or more per block), a vocabulary of several head rows
  // per block and warp, and streams that fill one tile of 8 and part of another.
  const ModelConfig config{CellType::lstm,          2, testing::sized(700, 140), 5, testing::sized(3001, 301),
                           TokenizerKind::character};
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
  const BothDecodes both =
      decode_on_both(config, weights, random_start(config, testing::sized(37, 11), 2), greedy(), 3);
  ASSERT_EQ(both.gpu_stats.decoder, "persistent") << both.gpu_stats.note;
  expect_the_cpus_ids_and_state(both);
}

#if GENRNN_SIMT
TEST(PersistentDecoder, WhereItsGridCannotBeResidentAtOnceItDecodesAsTheGraphDecoderAndSaysWhy) {
  GENRNN_REQUIRE_ENGINE("fused");
  // A process sharing the GPU (MPS) whose cooperative grids get one multiprocessor of the
  // 132 its properties report: 32 blocks of 64 threads, fewer than the 40 this model needs.
  simt::set_resident_multiprocessors(1);
  struct WholeDeviceAgain {
    ~WholeDeviceAgain() { simt::set_resident_multiprocessors(0); }
  } whole_device_again;
  const ModelConfig config{CellType::gru, 1, 40, 0, 9, TokenizerKind::character};
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
  const BothDecodes both = decode_on_both(config, weights, random_start(config, 2, 2), greedy(), 20);
  EXPECT_EQ(both.gpu_stats.decoder, "graph");
  EXPECT_NE(both.gpu_stats.note.find("does not fit on this GPU at once"), std::string::npos) << both.gpu_stats.note;
  expect_the_cpus_ids_and_state(both);
}
#endif

TEST(PersistentDecoder, WhereTheModelDoesNotFitItDecodesAsTheGraphDecoderAndSaysWhy) {
  GENRNN_REQUIRE_ENGINE("fused");
  const ModelConfig config{CellType::gru, 9, 8, 0, 7, TokenizerKind::character};  // more layers than it runs
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
  const BothDecodes both = decode_on_both(config, weights, random_start(config, 1, 2), greedy(), 12);
  EXPECT_EQ(both.gpu_stats.decoder, "graph");
  EXPECT_NE(both.gpu_stats.note.find("runs up to 8 layers, not 9"), std::string::npos) << both.gpu_stats.note;
  expect_the_cpus_ids_and_state(both);
}

TEST(PersistentDecoder, TheGeneratorSaysWhichDecoderRan) {
  GENRNN_REQUIRE_ENGINE("fused");
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abcdefgh", 0);
  const ModelConfig config{CellType::lstm, 2, 24, 4, tokenizer.size(), TokenizerKind::character};
  const Model model = Model::initialize(config, std::move(tokenizer), 9);
  GenerateOptions options;
  options.length = 30;
  options.num_samples = 2;
  options.sampling.seed = 4;
  EngineOptions engine = persistent();
  engine.device = Device::cuda;
  engine.engine = "fused";
  Generator generator(model, engine);
  const auto texts = generator.generate("abc", options);
  EXPECT_EQ(generator.last_decode().decoder, "persistent") << generator.last_decode().note;
  EXPECT_EQ(texts, Generator(model, Device::cpu).generate("abc", options));
}

TEST(PersistentDecoder, TheBenchmarkMeasuresEachDecoderAndSaysWhichRan) {
  GENRNN_REQUIRE_ENGINE("fused");
  BenchCase bench;
  bench.test = BenchTest::decode;
  bench.device = Device::cuda;
  bench.engine = "fused";
  bench.model = {CellType::lstm, 2, testing::sized(64, 16), 0, 11, TokenizerKind::word};
  bench.batch = 1;
  bench.n_decode = 20;  // more than one chunk of the id ring
  for (const std::string decoder : {"graph", "persistent"}) {
    bench.decoder = decoder;
    const BenchResult r = run_benchmark(bench, {0, 1, 1});
    EXPECT_EQ(r.decoder, decoder) << r.decoder_note;
    EXPECT_EQ(r.tokens, 20);
    EXPECT_GT(r.token_latency_us_p50, 0) << decoder;
    EXPECT_GE(r.token_latency_us_p99, r.token_latency_us_p50) << decoder;
  }
}

}  // namespace
}  // namespace genrnn
