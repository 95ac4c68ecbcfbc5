// The GPU engines (cudnn and fused) against the CPU engine (itself checked against PyTorch):
// weights mapping, forward, loss, gradients, state, Adam, evaluation. Skips without a GPU.
#include <gtest/gtest.h>

#include "engine/engine.hpp"
#include "genrnn/genrnn.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"
#include "tests/support/scratch_folder.hpp"

namespace genrnn {
namespace {

struct EngineCase {
  std::string engine;  // "cudnn" or "fused"
  CellType cell;
  int layers;
  int embedding;
};

std::string case_name(const ::testing::TestParamInfo<EngineCase>& info) {
  return info.param.engine + "_" + to_string(info.param.cell) + "_l" + std::to_string(info.param.layers) + "_e" +
         std::to_string(info.param.embedding);
}

// The CPU engine and a GPU engine with the same random weights and the same random, nonzero state.
struct EnginePair {
  EnginePair(const std::string& gpu_engine, const ModelConfig& config, int batch) : config(config) {
    const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
    const std::size_t n = static_cast<std::size_t>(config.num_layers) * batch * config.hidden_size;
    const RecurrentState initial{batch, testing::random_uniform<float>(n, -0.5f, 0.5f),
                                 config.cell == CellType::lstm ? testing::random_uniform<float>(n, -0.5f, 0.5f)
                                                               : std::vector<float>{}};
    for (auto* engine : {&cpu, &gpu}) {
      *engine = make_engine(engine == &cpu ? "cpu" : gpu_engine, config);
      (*engine)->set_parameters(weights);
      (*engine)->set_state(initial);
    }
  }
  ModelConfig config;
  std::unique_ptr<Engine> cpu, gpu;
};

TokenWindow random_window(int batch, int seq_len, int vocab) {
  const auto n = static_cast<std::size_t>(batch) * seq_len;
  return {batch, seq_len, testing::random_ids(n, vocab), testing::random_ids(n, vocab)};
}

class GpuEngineVsCpu : public ::testing::TestWithParam<EngineCase> {
 protected:
  const std::string& engine() const { return GetParam().engine; }
  ModelConfig config() const {
    return {GetParam().cell, GetParam().layers, 8, GetParam().embedding, 11, TokenizerKind::character};
  }
};

TEST_P(GpuEngineVsCpu, ParametersRoundTripExactly) {
  GENRNN_REQUIRE_GPU();
  auto engine = make_engine(this->engine(), config());
  const auto weights = testing::random_uniform<float>(parameter_count(config()), -1.0f, 1.0f);
  engine->set_parameters(weights);
  EXPECT_EQ(engine->parameters(), weights);
}

TEST_P(GpuEngineVsCpu, LossGradientsStateAndLogitsMatch) {
  GENRNN_REQUIRE_GPU();
  const int batch = 3, seq_len = 7;  // uneven on purpose
  EnginePair engines(engine(), config(), batch);
  const TokenWindow window = random_window(batch, seq_len, 11);
  std::vector<float> cpu_gradients, gpu_gradients;
  const double cpu_loss = engines.cpu->compute_gradients(window, cpu_gradients);
  const double gpu_loss = engines.gpu->compute_gradients(window, gpu_gradients);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-5 * cpu_loss);
  for (const auto& spec : parameter_layout(config())) {
    const auto offset = static_cast<std::ptrdiff_t>(spec.offset), count = static_cast<std::ptrdiff_t>(spec.numel());
    const std::vector<float> gpu(gpu_gradients.begin() + offset, gpu_gradients.begin() + offset + count);
    const std::vector<float> cpu(cpu_gradients.begin() + offset, cpu_gradients.begin() + offset + count);
    // Sums over batch x steps in another order: a little more than float rounding.
    EXPECT_LT(testing::max_relative_error(gpu, cpu), 1e-4) << spec.name;
  }
  const RecurrentState cpu_state = engines.cpu->state(), gpu_state = engines.gpu->state();
  EXPECT_LT(testing::max_relative_error(gpu_state.h, cpu_state.h), 1e-5);
  EXPECT_LT(testing::max_relative_error(gpu_state.c, cpu_state.c), 1e-5);

  std::vector<float> cpu_logits, gpu_logits;
  const auto prompts = testing::random_ids(static_cast<std::size_t>(batch) * 5, 11);
  engines.cpu->prefill(prompts, batch, cpu_logits);
  engines.gpu->prefill(prompts, batch, gpu_logits);
  EXPECT_LT(testing::max_relative_error(gpu_logits, cpu_logits), 1e-5);
  engines.cpu->step({1, 2, 3}, cpu_logits);
  engines.gpu->step({1, 2, 3}, gpu_logits);
  EXPECT_LT(testing::max_relative_error(gpu_logits, cpu_logits), 1e-5);
}

TEST_P(GpuEngineVsCpu, TenAdamStepsGiveTheSameWeights) {
  GENRNN_REQUIRE_GPU();
  EnginePair engines(engine(), config(), 4);
  TrainStepOptions options;
  options.learning_rate = 1e-2f;
  options.clip = 0.5f;  // small enough to clip
  for (int step = 0; step < 10; ++step) {
    const TokenWindow window = random_window(4, 6, 11);
    const auto cpu_loss = engines.cpu->train_step(window, options);
    const auto gpu_loss = engines.gpu->train_step(window, options);
    ASSERT_TRUE(cpu_loss && gpu_loss);
    EXPECT_NEAR(*gpu_loss, *cpu_loss, 1e-4 * *cpu_loss) << "step " << step;
  }
  EXPECT_LT(testing::max_relative_error(engines.gpu->parameters(), engines.cpu->parameters()), 1e-4);
  const OptimizerState cpu_adam = engines.cpu->optimizer_state(), gpu_adam = engines.gpu->optimizer_state();
  EXPECT_EQ(gpu_adam.step, cpu_adam.step);
  EXPECT_LT(testing::max_relative_error(gpu_adam.m, cpu_adam.m), 1e-4);
}

TEST_P(GpuEngineVsCpu, EvalWindowsAgree) {
  GENRNN_REQUIRE_GPU();
  EnginePair engines(engine(), config(), 2);
  for (int window = 0; window < 3; ++window) {  // the state carries across windows
    const TokenWindow w = random_window(2, 9, 11);
    const double cpu = engines.cpu->eval_window(w);
    EXPECT_NEAR(engines.gpu->eval_window(w), cpu, 1e-5 * cpu);
  }
}

TEST_P(GpuEngineVsCpu, GreedyDecodingWritesTheCpusText) {
  GENRNN_REQUIRE_GPU();
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abcdefghijk", 0);
  Model model = Model::initialize(config(), std::move(tokenizer), 3);
  GenerateOptions options;
  options.length = 100;
  options.sampling.temperature = 0;
  const auto on_cpu = Generator(model, Device::cpu).generate("abc", options);
  Generator on_gpu(model, Device::cuda, engine());
  EXPECT_EQ(on_gpu.engine_name(), engine());
  EXPECT_EQ(on_gpu.generate("abc", options), on_cpu);
}

TEST_P(GpuEngineVsCpu, EachStreamDrawsTheSameTokensAloneOrInABatchOf4096) {
  GENRNN_REQUIRE_GPU();
  const int streams = 4096, length = 48;
  auto engine = make_engine(this->engine(), config());
  engine->set_parameters(testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f));
  const std::vector<int> prompt = {1, 4, 2};
  const SamplingOptions sampling;
  // Every stream's ids [position][stream] from one batched decode.
  auto decode = [&](const std::vector<DrawKey>& keys) {
    const int batch = static_cast<int>(keys.size());
    engine->set_state({batch, {}, {}});
    std::vector<int> prompts;
    for (int s = 0; s < batch; ++s) prompts.insert(prompts.end(), prompt.begin(), prompt.end());
    std::vector<float> logits;
    engine->prefill(prompts, batch, logits);
    std::vector<int> ids;
    engine->decode(logits, length, sampling, keys, [&](int, int positions, const int* chunk) {
      ids.insert(ids.end(), chunk, chunk + static_cast<std::ptrdiff_t>(positions) * batch);
      return true;
    });
    return ids;
  };
  std::vector<DrawKey> all(streams);
  for (int s = 0; s < streams; ++s) all[s] = {77, static_cast<uint64_t>(s)};
  const std::vector<int> batched = decode(all);
  ASSERT_EQ(batched.size(), static_cast<std::size_t>(streams) * length);
  // A few streams alone. Batch-1 products may round differently from batch-4096 ones, which
  // could flip a draw that lands within ~1e-6 of a boundary: rare enough to expect none here.
  for (int s : {0, 1, 1234, streams - 1}) {
    const std::vector<int> alone = decode({DrawKey{77, static_cast<uint64_t>(s)}});
    for (int p = 0; p < length; ++p)
      EXPECT_EQ(alone[p], batched[static_cast<std::size_t>(p) * streams + s]) << "stream " << s << ", position " << p;
  }
}

TEST_P(GpuEngineVsCpu, GraphReplayDrawsWhatPlainLaunchesDraw) {
  GENRNN_REQUIRE_GPU();
  auto engine = make_engine(this->engine(), config());
  engine->set_parameters(testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f));
  const int streams = 16, length = 100;  // past the chunk size, and past the steps before capture
  std::vector<DrawKey> keys(streams);
  for (int s = 0; s < streams; ++s) keys[s] = {5, static_cast<uint64_t>(s)};
  auto decode = [&](const char* graphs) {
    setenv("GENRNN_CUDA_GRAPHS", graphs, 1);
    engine->set_state({streams, {}, {}});
    std::vector<float> logits;
    engine->prefill(std::vector<int>(static_cast<std::size_t>(streams) * 4, 3), streams, logits);
    std::vector<int> ids;
    engine->decode(logits, length, SamplingOptions{}, keys, [&](int, int positions, const int* chunk) {
      ids.insert(ids.end(), chunk, chunk + static_cast<std::ptrdiff_t>(positions) * streams);
      return true;
    });
    unsetenv("GENRNN_CUDA_GRAPHS");
    return std::make_pair(ids, engine->state());
  };
  const auto plain = decode("0");
  const auto replayed = decode("1");
  EXPECT_EQ(replayed.first, plain.first);
  EXPECT_EQ(replayed.second.h, plain.second.h);  // and the state they leave is the same
}

std::vector<EngineCase> every_engine_and_cell() {
  std::vector<EngineCase> cases;
  for (const char* engine : {"cudnn", "fused"})
    for (const EngineCase& c : {EngineCase{"", CellType::lstm, 1, 0}, EngineCase{"", CellType::lstm, 2, 5},
                                EngineCase{"", CellType::gru, 1, 5}, EngineCase{"", CellType::gru, 2, 0},
                                EngineCase{"", CellType::rnn, 1, 0}, EngineCase{"", CellType::rnn, 2, 5}})
      cases.push_back({engine, c.cell, c.layers, c.embedding});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EnginesAndCells, GpuEngineVsCpu, ::testing::ValuesIn(every_engine_and_cell()), case_name);

TEST(GpuEngine, FusedTrainingWithDropoutUsesTheCpusMasks) {
  GENRNN_REQUIRE_GPU();
  for (CellType cell : {CellType::lstm, CellType::gru, CellType::rnn}) {
    const ModelConfig config{cell, 3, 8, 5, 11, TokenizerKind::character};
    EnginePair engines("fused", config, 4);
    TrainStepOptions options;
    options.learning_rate = 1e-2f;
    options.dropout = 0.3f;
    options.dropout_seed = 99;
    for (int step = 0; step < 5; ++step) {
      const TokenWindow window = random_window(4, 6, 11);
      const auto cpu_loss = engines.cpu->train_step(window, options);
      const auto gpu_loss = engines.gpu->train_step(window, options);
      ASSERT_TRUE(cpu_loss && gpu_loss);
      EXPECT_NEAR(*gpu_loss, *cpu_loss, 1e-4 * *cpu_loss) << to_string(cell) << " step " << step;
    }
    EXPECT_LT(testing::max_relative_error(engines.gpu->parameters(), engines.cpu->parameters()), 1e-4) << to_string(cell);
  }
}

TEST(GpuEngine, CheckpointsEvaluateTheSameOnBothDevicesWhereverTheyWereTrained) {
  GENRNN_REQUIRE_GPU();
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  auto tokenizer = Tokenizer::build(TokenizerKind::character, text, 0);
  const ModelConfig config{CellType::lstm, 2, 32, 8, tokenizer.size(), TokenizerKind::character};
  const Model model = Model::initialize(config, std::move(tokenizer), 1);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const double untrained = evaluate(model, ids, Device::cpu).loss;
  const testing::ScratchFolder scratch;
  for (Device device : {Device::cuda, Device::cpu}) {
    TrainOptions options;
    options.seq_len = 20;
    options.batch = 8;
    options.steps = 20;
    options.val_frac = 0;
    options.device = device;
    options.out_path = scratch.file(device == Device::cuda ? "gpu.safetensors" : "cpu.safetensors");
    Trainer trainer(model, ids, options);
    EXPECT_EQ(trainer.engine_name(), device == Device::cuda ? "cudnn" : "cpu");
    trainer.run({});
    const Model trained = Model::load(options.out_path);
    const EvalResult on_cpu = evaluate(trained, ids, Device::cpu);
    const EvalResult on_gpu = evaluate(trained, ids, Device::cuda);
    EXPECT_EQ(on_gpu.engine, "cudnn");
    EXPECT_NEAR(on_gpu.loss, on_cpu.loss, 1e-5 * on_cpu.loss) << trainer.engine_name();
    EXPECT_LT(on_cpu.loss, untrained) << trainer.engine_name() << " did not train";
  }
}

}  // namespace
}  // namespace genrnn
