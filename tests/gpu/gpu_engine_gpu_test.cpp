// The GPU engines (cudnn and fused), both roles, against the CPU engine (itself checked against
// PyTorch): weights mapping, forward, loss, gradients, state, Adam, evaluation, prefill and
// decoding, graph replay, TF32, dropout and shapes beyond one warp and one block. Skips
// without a GPU.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <tuple>

#include "api/beam_search.hpp"
#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/genrnn.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/numeric.hpp"
#include "tests/support/scratch_folder.hpp"
#include "tests/support/slot_prefill.hpp"
#include "tests/support/split_batch.hpp"

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

RecurrentState random_state(const ModelConfig& config, int batch) {
  const std::size_t n = static_cast<std::size_t>(config.num_layers) * batch * config.hidden_size;
  return {batch, testing::random_uniform<float>(n, -0.5f, 0.5f),
          has_cell_state(config) ? testing::random_uniform<float>(n, -0.5f, 0.5f) : std::vector<float>{}};
}

// The CPU engine and a GPU engine in one role, with the same random weights and the same
// random, nonzero state.
template <class Role>
struct RolePair {
  std::unique_ptr<Role> cpu, gpu;
};

template <class Role, class Make>
RolePair<Role> role_pair(Make make, const std::string& gpu_engine, const ModelConfig& config, int batch,
                         const EngineOptions& options = {}) {
  RolePair<Role> pair{make("cpu", config, EngineOptions{}), make(gpu_engine, config, options)};
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
  const RecurrentState initial = random_state(config, batch);
  for (Role* engine : {pair.cpu.get(), pair.gpu.get()}) {
    engine->set_parameters(weights);
    engine->set_state(initial);
  }
  return pair;
}

RolePair<TrainingEngine> trainers(const std::string& gpu_engine, const ModelConfig& config, int batch,
                                  const EngineOptions& options = {}) {
  return role_pair<TrainingEngine>(
      [](const std::string& e, const ModelConfig& c, const EngineOptions& o) { return make_training_engine(e, c, o); },
      gpu_engine, config, batch, options);
}

RolePair<DecodingEngine> decoders(const std::string& gpu_engine, const ModelConfig& config, int batch,
                                  const EngineOptions& options = {}) {
  return role_pair<DecodingEngine>(
      [](const std::string& e, const ModelConfig& c, const EngineOptions& o) { return make_decoding_engine(e, c, o); },
      gpu_engine, config, batch, options);
}

// What EngineOptions::decoder can name for `engine`, or "auto" where it has no choice.
std::vector<std::string> decoders_of(const std::string& engine) {
  for (const EngineInfo& info : registered_engines())
    if (info.name == engine && !info.decoders.empty()) return info.decoders;
  return {"auto"};
}

TokenWindow random_window(int batch, int seq_len, int vocab) {
  const auto n = static_cast<std::size_t>(batch) * seq_len;
  return {batch, seq_len, testing::random_ids(n, vocab), testing::random_ids(n, vocab)};
}

// Every stream's ids [position][stream] of one decode from the engine's current state.
std::vector<int> decode_all(DecodingEngine& engine, const std::vector<float>& logits, int length,
                            const std::vector<StreamDraw>& streams, DecodeStats* stats = nullptr) {
  std::vector<int> ids;
  const DecodeStats ran = engine.decode(logits, length, streams, [&](int, int positions, const int* chunk) {
    ids.insert(ids.end(), chunk, chunk + static_cast<std::ptrdiff_t>(positions) * streams.size());
    return true;
  });
  if (stats) *stats = ran;
  return ids;
}
std::vector<int> decode_all(DecodingEngine& engine, const std::vector<float>& logits, int length,
                            const SamplingOptions& sampling, const std::vector<DrawKey>& keys,
                            DecodeStats* stats = nullptr) {
  return decode_all(engine, logits, length, same_draws(sampling, keys), stats);
}

std::vector<DrawKey> keys_for(int streams, uint64_t seed) {
  std::vector<DrawKey> keys(streams);
  for (int s = 0; s < streams; ++s) keys[s] = {seed, static_cast<uint64_t>(s)};
  return keys;
}

// Gradients and loss of one window on both engines, compared tensor by tensor.
void expect_same_gradients(RolePair<TrainingEngine>& engines, const TokenWindow& window, double tolerance) {
  std::vector<float> cpu_gradients, gpu_gradients;
  const double cpu_loss = engines.cpu->compute_gradients(window, cpu_gradients);
  const double gpu_loss = engines.gpu->compute_gradients(window, gpu_gradients);
  EXPECT_NEAR(gpu_loss, cpu_loss, tolerance * cpu_loss);
  for (const auto& spec : parameter_layout(engines.cpu->config())) {
    const auto offset = static_cast<std::ptrdiff_t>(spec.offset), count = static_cast<std::ptrdiff_t>(spec.numel());
    const std::vector<float> gpu(gpu_gradients.begin() + offset, gpu_gradients.begin() + offset + count);
    const std::vector<float> cpu(cpu_gradients.begin() + offset, cpu_gradients.begin() + offset + count);
    // Sums over batch x steps in another order: a little more than float rounding.
    EXPECT_LT(testing::max_relative_error(gpu, cpu), 10 * tolerance) << spec.name;
  }
}

class GpuEngineVsCpu : public ::testing::TestWithParam<EngineCase> {
 protected:
  const std::string& engine() const { return GetParam().engine; }
  ModelConfig config() const {
    return {GetParam().cell, GetParam().layers, 8, GetParam().embedding, 11, TokenizerKind::character};
  }
};

TEST_P(GpuEngineVsCpu, ParametersRoundTripExactlyInBothRoles) {
  GENRNN_REQUIRE_ENGINE(engine());
  const auto weights = testing::random_uniform<float>(parameter_count(config()), -1.0f, 1.0f);
  auto trainer = make_training_engine(engine(), config());
  trainer->set_parameters(weights);
  EXPECT_EQ(trainer->parameters(), weights);
  auto decoder = make_decoding_engine(engine(), config());
  decoder->set_parameters(weights);
  EXPECT_EQ(decoder->parameters(), weights);
}

TEST_P(GpuEngineVsCpu, LossGradientsStateAndLogitsMatch) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int batch = 3, seq_len = 7;  // uneven on purpose
  auto engines = trainers(engine(), config(), batch);
  expect_same_gradients(engines, random_window(batch, seq_len, 11), 1e-5);
  const RecurrentState cpu_state = engines.cpu->state(), gpu_state = engines.gpu->state();
  EXPECT_LT(testing::max_relative_error(gpu_state.h, cpu_state.h), 1e-5);
  EXPECT_LT(testing::max_relative_error(gpu_state.c, cpu_state.c), 1e-5);

  auto decoding = decoders(engine(), config(), batch);
  std::vector<float> cpu_logits, gpu_logits;
  const auto prompts = testing::random_ids(static_cast<std::size_t>(batch) * 5, 11);
  decoding.cpu->prefill(prompts, cpu_logits);
  decoding.gpu->prefill(prompts, gpu_logits);
  EXPECT_LT(testing::max_relative_error(gpu_logits, cpu_logits), 1e-5);
  decoding.cpu->prefill({1, 2, 3}, cpu_logits);  // one token per stream: a decode step
  decoding.gpu->prefill({1, 2, 3}, gpu_logits);
  EXPECT_LT(testing::max_relative_error(gpu_logits, cpu_logits), 1e-5);
}

TEST_P(GpuEngineVsCpu, FreshEnginesStartFromOneZeroStreamAsTheCpusDo) {
  GENRNN_REQUIRE_ENGINE(engine());
  const auto weights = testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f);
  std::vector<float> logits[2];
  int k = 0;
  for (const std::string& name : {std::string("cpu"), engine()}) {
    auto decoder = make_decoding_engine(name, config());
    decoder->set_parameters(weights);
    EXPECT_EQ(decoder->state().batch, 1) << name;
    decoder->prefill({1, 4, 2}, logits[k++]);
  }
  EXPECT_LT(testing::max_relative_error(logits[1], logits[0]), 1e-5);
  auto trainer = make_training_engine(engine(), config());
  trainer->set_parameters(weights);
  EXPECT_GT(trainer->eval_window(random_window(1, 5, 11)), 0.0);
}

// Ten steps of each optimizer, clipped, from the same weights. SGD's weights must agree. Adam
// divides each gradient by its own running RMS, so a weight whose gradient is at rounding's level
// (1e-9 against others' 1e-2) takes a full learning-rate step in whatever direction rounding
// picks, on either engine (seen once in ~100 runs, for every cell): its weights may part by a
// step, so Adam's moments, which sum the gradients as they are, must agree instead.
TEST_P(GpuEngineVsCpu, TenOptimizerStepsGiveTheSameWeightsAndMoments) {
  GENRNN_REQUIRE_ENGINE(engine());
  for (Optimizer optimizer : {Optimizer::sgd, Optimizer::adam}) {
    SCOPED_TRACE(to_string(optimizer));
    auto engines = trainers(engine(), config(), 4);
    TrainStepOptions options;
    options.optimizer = optimizer;
    options.learning_rate = 1e-2f;
    options.clip = 0.5f;  // small enough to clip
    for (int step = 0; step < 10; ++step) {
      const TokenWindow window = random_window(4, 6, 11);
      const auto cpu_loss = engines.cpu->train_step(window, options);
      const auto gpu_loss = engines.gpu->train_step(window, options);
      ASSERT_TRUE(cpu_loss && gpu_loss);
      EXPECT_NEAR(*gpu_loss, *cpu_loss, 1e-4 * *cpu_loss) << "step " << step;
    }
    if (optimizer == Optimizer::sgd) {
      EXPECT_LT(testing::max_relative_error(engines.gpu->parameters(), engines.cpu->parameters()), 1e-4);
      continue;
    }
    const OptimizerState cpu_adam = engines.cpu->optimizer_state(), gpu_adam = engines.gpu->optimizer_state();
    EXPECT_EQ(gpu_adam.step, cpu_adam.step);
    EXPECT_LT(testing::max_relative_error(gpu_adam.m, cpu_adam.m), 1e-4);
    EXPECT_LT(testing::max_relative_error(gpu_adam.v, cpu_adam.v), 1e-4);
  }
}

TEST_P(GpuEngineVsCpu, EvalWindowsAgree) {
  GENRNN_REQUIRE_ENGINE(engine());
  auto engines = trainers(engine(), config(), 2);
  for (int window = 0; window < 3; ++window) {  // the state carries across windows
    const TokenWindow w = random_window(2, 9, 11);
    const double cpu = engines.cpu->eval_window(w);
    EXPECT_NEAR(engines.gpu->eval_window(w), cpu, 1e-5 * cpu);
  }
}

TEST_P(GpuEngineVsCpu, GreedyDecodingWritesTheCpusText) {
  GENRNN_REQUIRE_ENGINE(engine());
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

TEST_P(GpuEngineVsCpu, BatchedStreamsWithTheirOwnPromptsSeedsAndLengthsWriteTheCpusTexts) {
  GENRNN_REQUIRE_ENGINE(engine());
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abcdefghijk", 0);
  const Model model = Model::initialize(config(), std::move(tokenizer), 5);
  const std::vector<StreamRequest> requests = {
      {"abc", 1, 0, 30, ""}, {"k", 2, 0, 12, ""}, {"abc", 3, 5, 25, ""}, {"hij", 1, 0, 40, "e"}, {"abc", 1, 0, 30, ""}};
  GenerateOptions options;
  options.sampling.temperature = 0.9f;
  options.sampling.top_k = 6;
  // Sampled: a draw within ~1e-6 of a boundary could flip, which so few draws are most
  // unlikely to meet.
  const auto on_cpu = Generator(model, Device::cpu).generate(requests, options);
  EXPECT_EQ(Generator(model, Device::cuda, engine()).generate(requests, options), on_cpu);
}

// gen_cuda serve's scheduler on the GPU engine: streams that join a running batch write what the
// CPU's Generator writes for the same seeds.
TEST_P(GpuEngineVsCpu, ServedStreamsJoiningARunningBatchWriteTheCpusTexts) {
  GENRNN_REQUIRE_ENGINE(engine());
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abcdefghijk", 0);
  const Model model = Model::initialize(config(), std::move(tokenizer), 5);
  GenerateOptions options;
  options.sampling = {0.9f, 6, 1.0f, 3};
  options.num_samples = 3;
  options.length = 24;
  const auto on_cpu = Generator(model, Device::cpu).generate("abc", options);
  StreamScheduler scheduler(model, EngineOptions{Device::cuda, engine()}, {4, 8});
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> texts(3);
  int ended = 0;
  auto observer = [&](int choice, const StreamToken* token, StreamEnd end) {
    std::lock_guard<std::mutex> lock(mutex);
    if (token) texts[choice] += token->text;
    ended += end != StreamEnd::running;
    changed.notify_all();
    return true;
  };
  std::vector<ScheduledStream> running(1), joining(3);
  running[0] = {model.tokenizer.encode("kj", UnknownPolicy::error), options.sampling, 0, 60, {}, -1};
  for (int k = 0; k < 3; ++k)
    joining[k] = {model.tokenizer.encode("abc", UnknownPolicy::error), options.sampling, uint64_t(k), 24, {}, -1};
  scheduler.submit(running, [](int, const StreamToken*, StreamEnd) { return true; });
  scheduler.submit(joining, observer);
  std::unique_lock<std::mutex> lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, std::chrono::minutes(5), [&] { return ended == 3; }));
  EXPECT_EQ(texts, on_cpu);
}

// Beam search on the GPU engine finds the CPU's hypotheses, in the same order, with the same
// log-probabilities (within float rounding).
TEST_P(GpuEngineVsCpu, BeamSearchFindsTheCpusHypotheses) {
  GENRNN_REQUIRE_ENGINE(engine());
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abcdefghijk", 0);
  const Model model = Model::initialize(config(), std::move(tokenizer), 7);
  GenerateOptions options;
  options.beam_width = 5;
  options.num_samples = 5;
  options.length = 12;
  options.stop = "e";
  options.length_penalty = 0.6f;
  const auto on_cpu = Generator(model, Device::cpu).generate_scored("abc", options);
  const auto on_gpu = Generator(model, Device::cuda, engine()).generate_scored("abc", options);
  ASSERT_EQ(on_gpu.size(), on_cpu.size());
  for (std::size_t k = 0; k < on_cpu.size(); ++k) {
    EXPECT_EQ(on_gpu[k].ids, on_cpu[k].ids) << "hypothesis " << k;
    EXPECT_NEAR(on_gpu[k].logprob, on_cpu[k].logprob, 1e-4) << "hypothesis " << k;
  }
}

// The GPU engines search on their device (DecodingEngine::search_beams), the CPU engine on the
// host: a batch of requests with their own widths, lengths, stops and best counts, word tokens
// (joined with a space or not), and an initial state, give the same hypotheses in the same
// order. The stop texts are taken across a token boundary of what each request writes without
// one, so that they are met.
TEST_P(GpuEngineVsCpu, BeamSearchesOfABatchOnTheDeviceFindTheCpusHypotheses) {
  GENRNN_REQUIRE_ENGINE(engine());
  ModelConfig words = config();
  words.tokenizer = TokenizerKind::word;
  const auto tokenizer =
      Tokenizer::from_vocab(TokenizerKind::word, {"<unk>", "the", "cat", ",", ".", "\n", "(", ")", "sat", "on", "mat"});
  auto engines = decoders(engine(), words, 1);
  ASSERT_TRUE(engines.gpu->searches_beams());
  ASSERT_FALSE(engines.cpu->searches_beams());
  const RecurrentState initial = random_state(words, 1);
  std::vector<BeamRequest> requests{{{1, 2}, initial, 5, 9, 0.6f, "", 3},
                                    {{8}, {}, 3, 6, 0.0f, "", 2},
                                    {{5, 6}, {}, 1, 7, 0.0f, "", 1},
                                    {{9}, {}, 6, 4, 1.0f, "", 6},
                                    {{3}, {}, 4, 8, 0.0f, "", 4}};
  const auto unstopped = beam_search(*engines.cpu, tokenizer, requests);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    if (r == 2) continue;  // one without a stop text
    // The last byte of the best hypothesis's first token, what joins it to the second, and
    // the second's first byte.
    const GeneratedText& best = unstopped[r].front();
    const std::size_t boundary = tokenizer.piece(requests[r].prompt.back(), best.ids[0]).size();
    const std::size_t joined =
        tokenizer.piece(best.ids[0], best.ids[1]).size() - tokenizer.tokens()[best.ids[1]].size();
    requests[r].stop = best.text.substr(boundary - 1, joined + 2);
  }
  const auto on_cpu = beam_search(*engines.cpu, tokenizer, requests);
  const auto on_gpu = beam_search(*engines.gpu, tokenizer, requests);
  ASSERT_EQ(on_gpu.size(), on_cpu.size());
  int stopped = 0;  // hypotheses a stop text ended: the test must meet some
  for (std::size_t r = 0; r < requests.size(); ++r) {
    SCOPED_TRACE("request " + std::to_string(r) + ", stop '" + requests[r].stop + "'");
    ASSERT_EQ(on_gpu[r].size(), on_cpu[r].size());
    for (std::size_t k = 0; k < on_cpu[r].size(); ++k) {
      EXPECT_EQ(on_gpu[r][k].ids, on_cpu[r][k].ids) << "hypothesis " << k;
      EXPECT_EQ(on_gpu[r][k].text, on_cpu[r][k].text) << "hypothesis " << k;
      EXPECT_NEAR(on_gpu[r][k].logprob, on_cpu[r][k].logprob, 1e-4) << "hypothesis " << k;
      EXPECT_NEAR(on_gpu[r][k].score, on_cpu[r][k].score, 1e-4) << "hypothesis " << k;
      const std::string& stop = requests[r].stop;
      stopped += !stop.empty() && on_cpu[r][k].text.size() >= stop.size() &&
                 on_cpu[r][k].text.compare(on_cpu[r][k].text.size() - stop.size(), stop.size(), stop) == 0;
    }
  }
  EXPECT_GT(stopped, 0);
}

TEST_P(GpuEngineVsCpu, TopKAndTopPThroughDecodeDrawTheCpusTokens) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int streams = 8, length = 40;
  auto engines = decoders(engine(), config(), streams);
  SamplingOptions sampling;
  sampling.temperature = 0.8f;
  sampling.top_k = 4;
  sampling.top_p = 0.7f;
  const auto prompts = testing::random_ids(static_cast<std::size_t>(streams) * 3, 11);
  const auto keys = keys_for(streams, 21);
  std::vector<float> cpu_logits, gpu_logits;
  engines.cpu->prefill(prompts, cpu_logits);
  engines.gpu->prefill(prompts, gpu_logits);
  // From the same logits; a draw within ~1e-6 of a boundary could flip, which so few draws
  // are most unlikely to meet.
  const auto cpu_ids = decode_all(*engines.cpu, cpu_logits, length, sampling, keys);
  const auto gpu_ids = decode_all(*engines.gpu, cpu_logits, length, sampling, keys);
  EXPECT_EQ(gpu_ids, cpu_ids);
}

// Continuous batching's draws: every stream with its own options and its own position (a
// stream that joined a running batch counts from its own start), on each GPU decoder as on
// the CPU.
TEST_P(GpuEngineVsCpu, StreamsWithTheirOwnOptionsAndPositionsDrawTheCpusTokens) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int streams = 6, length = 12;
  const SamplingOptions options[] = {{0.0f, 0, 1.0f, 0}, {0.8f, 0, 1.0f, 0}, {1.5f, 5, 1.0f, 0},
                                     {1.0f, 0, 0.5f, 0}, {0.5f, 3, 0.9f, 0}, {2.0f, 0, 1.0f, 0}};
  std::vector<StreamDraw> draws;
  for (int s = 0; s < streams; ++s) draws.push_back({{uint64_t(40 + s), uint64_t(s)}, options[s], uint64_t(7 * s)});
  const std::vector<int> prompts = testing::random_ids(static_cast<std::size_t>(streams) * 3, 11);
  for (const std::string& decoder : decoders_of(engine())) {
    SCOPED_TRACE("decoder " + decoder);
    EngineOptions gpu_options;
    gpu_options.decoder = decoder;
    auto engines = decoders(engine(), config(), streams, gpu_options);
    std::vector<float> cpu_logits, gpu_logits;
    engines.cpu->prefill(prompts, cpu_logits);
    engines.gpu->prefill(prompts, gpu_logits);
    // Both from the CPU's logits: a draw within ~1e-6 of a boundary could flip otherwise.
    EXPECT_EQ(decode_all(*engines.gpu, cpu_logits, length, draws), decode_all(*engines.cpu, cpu_logits, length, draws));
  }
}

// Continuous batching's joins: prompts of different lengths into some slots of a running batch,
// from a zero state or the slots' own, on the GPU as each would run alone on the CPU; the
// other slots keep their state.
TEST_P(GpuEngineVsCpu, SlotPrefillRunsEachSlotAsTheCpuDoesAloneAndKeepsTheOthers) {
  GENRNN_REQUIRE_ENGINE(engine());
  for (bool fresh : {true, false}) {
    SCOPED_TRACE(fresh ? "fresh" : "continued");
    auto engines = decoders(engine(), config(), 1);
    const auto errors = testing::check_slot_prefill(*engines.gpu, *engines.cpu, fresh);
    EXPECT_LT(errors.logits, 1e-4);
    EXPECT_LT(errors.states, 1e-4);
    EXPECT_TRUE(errors.others_kept);
  }
}

TEST_P(GpuEngineVsCpu, EachStreamDrawsTheSameTokensAloneOrInABatchOfThousands) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int streams = testing::sized(4096, 1024), length = 48;  // 4096: the most a Generator batch has
  auto decoder = make_decoding_engine(engine(), config());
  decoder->set_parameters(testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f));
  const std::vector<int> prompt = {1, 4, 2};
  auto decode = [&](const std::vector<DrawKey>& keys) {
    const int batch = static_cast<int>(keys.size());
    decoder->set_state({batch, {}, {}});
    std::vector<int> prompts;
    for (int s = 0; s < batch; ++s) prompts.insert(prompts.end(), prompt.begin(), prompt.end());
    std::vector<float> logits;
    decoder->prefill(prompts, logits);
    return decode_all(*decoder, logits, length, SamplingOptions{}, keys);
  };
  const std::vector<int> batched = decode(keys_for(streams, 77));
  ASSERT_EQ(batched.size(), static_cast<std::size_t>(streams) * length);
  // A few streams alone. Batch-1 products may round differently from batch-4096 ones, which
  // could flip a draw that lands within ~1e-6 of a boundary: rare enough to expect none here.
  for (int s : {0, 1, streams / 3 + 1, streams - 1}) {
    const std::vector<int> alone = decode({DrawKey{77, static_cast<uint64_t>(s)}});
    for (int p = 0; p < length; ++p)
      EXPECT_EQ(alone[p], batched[static_cast<std::size_t>(p) * streams + s]) << "stream " << s << ", position " << p;
  }
}

TEST_P(GpuEngineVsCpu, GraphReplayDrawsWhatPlainLaunchesDraw) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int streams = 16, length = 100;  // past the chunk size, and past the steps before capture
  const auto weights = testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f);
  const auto keys = keys_for(streams, 5);
  auto decode = [&](bool graphs) {
    EngineOptions options;
    options.cuda_graphs = graphs;
    auto decoder = make_decoding_engine(engine(), config(), options);
    decoder->set_parameters(weights);
    decoder->set_state({streams, {}, {}});
    std::vector<float> logits;
    decoder->prefill(std::vector<int>(static_cast<std::size_t>(streams) * 4, 3), logits);
    DecodeStats stats;
    const auto ids = decode_all(*decoder, logits, length, SamplingOptions{}, keys, &stats);
    return std::make_tuple(ids, decoder->state(), stats);
  };
  const auto [plain_ids, plain_state, plain_stats] = decode(false);
  const auto [replayed_ids, replayed_state, replayed_stats] = decode(true);
  EXPECT_EQ(plain_stats.graphs, "");
  EXPECT_EQ(replayed_stats.graphs, "captured") << "the decode step was never replayed as a graph";
  // cuBLAS's workspace is pinned, so captured products run the same kernels: the same draws.
  EXPECT_EQ(replayed_ids, plain_ids);
  EXPECT_LT(testing::max_relative_error(replayed_state.h, plain_state.h), 1e-6);
}

TEST_P(GpuEngineVsCpu, DecodeMemoryDoesNotGrowWithTheGeneratedLength) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int streams = 64;
  auto decoder = make_decoding_engine(engine(), config());
  decoder->set_parameters(testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f));
  std::vector<float> logits;
  auto decode = [&](int length) {
    decoder->set_state({streams, {}, {}});
    decoder->prefill(std::vector<int>(static_cast<std::size_t>(streams) * 2, 1), logits);
    decode_all(*decoder, logits, length, SamplingOptions{}, keys_for(streams, 9));
    return cuda::device_bytes_allocated();
  };
  const std::size_t after_short = decode(40);
  EXPECT_EQ(decode(testing::sized(5000, 500)), after_short);  // 500: still some 30 chunks of ids
}

// Every registered GPU engine with every cell it runs: a new engine or cell is tested by being
// registered or listed.
template <class Shapes>
std::vector<EngineCase> every_gpu_engine_and_cell(Shapes shapes) {
  std::vector<EngineCase> cases;
  for (const EngineEntry& engine : engine_registry())
    if (engine.on_gpu)
      for (CellType cell : engine.cells())
        for (const auto& [layers, embedding] : shapes(cell)) cases.push_back({engine.name, cell, layers, embedding});
  return cases;
}

// 1 and 2 layers, one-hot and embedded input; and 3 x one-hot: on cudnn, the driver's first
// layer and two cuDNN layers after it.
std::vector<EngineCase> every_engine_and_cell() {
  return every_gpu_engine_and_cell([](CellType) {
    return std::vector<std::pair<int, int>>{{1, 0}, {1, 5}, {2, 0}, {2, 5}, {3, 0}};
  });
}

INSTANTIATE_TEST_SUITE_P(EnginesAndCells, GpuEngineVsCpu, ::testing::ValuesIn(every_engine_and_cell()), case_name);

// Beyond one warp and one block: H 256, V 1000, 33 streams, 40 steps.
class GpuEngineLargeShapes : public ::testing::TestWithParam<EngineCase> {};

TEST_P(GpuEngineLargeShapes, GradientsAndLogitsMatchTheCpu) {
  const EngineCase& c = GetParam();
  GENRNN_REQUIRE_ENGINE(c.engine);
  const ModelConfig config{c.cell, c.layers, 256, c.embedding, 1000, TokenizerKind::word};
  const int batch = 33, seq_len = 40;
  auto engines = trainers(c.engine, config, batch);
  expect_same_gradients(engines, random_window(batch, seq_len, config.vocab_size), 1e-4);
  auto decoding = decoders(c.engine, config, batch);
  std::vector<float> cpu_logits, gpu_logits;
  const auto prompts = testing::random_ids(static_cast<std::size_t>(batch) * seq_len, config.vocab_size);
  decoding.cpu->prefill(prompts, cpu_logits);
  decoding.gpu->prefill(prompts, gpu_logits);
  EXPECT_LT(testing::max_relative_error(gpu_logits, cpu_logits), 1e-4);
}

// One shape per cell, the cells taking turns: 2 x one-hot, 2 x embedded, 1 x embedded.
std::vector<EngineCase> large_cases() {
  return every_gpu_engine_and_cell([](CellType cell) {
    const std::pair<int, int> shapes[] = {{2, 0}, {2, 48}, {1, 48}};
    return std::vector<std::pair<int, int>>{shapes[static_cast<int>(cell) % 3]};
  });
}

INSTANTIATE_TEST_SUITE_P(Engines, GpuEngineLargeShapes, ::testing::ValuesIn(large_cases()), case_name);

TEST(GpuEngine, Tf32StaysCloseToTheCpu) {
  GENRNN_REQUIRE_GPU();
  // TF32 keeps 10 bits of mantissa in the products: about 1e-3 relative, not 1e-6.
  const ModelConfig config{CellType::lstm, 2, 128, 32, 300, TokenizerKind::word};
  EngineOptions options;
  options.tf32 = true;
  for (const char* engine : {"cudnn", "fused"}) {
    SCOPED_TRACE(engine);
    if (std::string(engine) == "cudnn" && testing::on_host_executor()) continue;  // cuDNN is not emulated there
    auto engines = trainers(engine, config, 16, options);
    expect_same_gradients(engines, random_window(16, 20, config.vocab_size), 1e-2);
  }
}

TEST(GpuEngine, TrainingWithPhiloxDropoutMatchesTheCpusMasks) {
  GENRNN_REQUIRE_GPU();
  struct Case {
    const char* engine;
    int layers, embedding;
  };
  // The fused engine draws the CPU's masks between all its layers; the cudnn engine after a
  // one-hot first layer, and with 2 layers cuDNN's one layer drops nothing: all the CPU's masks.
  for (CellType cell : testing::every_cell())
    for (const Case& c : {Case{"fused", 3, 0}, Case{"fused", 3, 5}, Case{"cudnn", 2, 0}}) {
      SCOPED_TRACE(std::string(c.engine) + " " + to_string(cell) + " embedding " + std::to_string(c.embedding));
      if (std::string(c.engine) == "cudnn" && testing::on_host_executor()) continue;  // cuDNN is not emulated there
      if (describe_cell(cell).cudnn_mode == math::kNoCudnnMode && std::string(c.engine) == "cudnn") continue;
      const ModelConfig config{cell, c.layers, 8, c.embedding, 11, TokenizerKind::character};
      auto engines = trainers(c.engine, config, 4);
      // SGD: Adam divides each gradient by its own RMS, so a weight whose gradient is at
      // rounding's level steps a full step whichever way rounding sends it, on either engine
      // (seen: 1.17e-4 against this test's 1e-4, once in a full suite).
      TrainStepOptions options;
      options.optimizer = Optimizer::sgd;
      options.learning_rate = 0.5f;
      options.dropout = 0.3f;
      options.dropout_seed = 99;
      for (int step = 0; step < 5; ++step) {
        const TokenWindow window = random_window(4, 6, 11);
        const auto cpu_loss = engines.cpu->train_step(window, options);
        const auto gpu_loss = engines.gpu->train_step(window, options);
        ASSERT_TRUE(cpu_loss && gpu_loss);
        EXPECT_NEAR(*gpu_loss, *cpu_loss, 1e-4 * *cpu_loss) << to_string(cell) << " step " << step;
      }
      EXPECT_LT(testing::max_relative_error(engines.gpu->parameters(), engines.cpu->parameters()), 1e-4)
          << to_string(cell);
    }
}

// The data-parallel step on a GPU engine: its gradient buffer (device layout, padding and all)
// handed to a reducer on its stream, averaged here through the host as NCCL would average it
// between two processes, and dropout keyed by each stream's place in the whole batch.
TEST(GpuEngine, TwoHalvesWithAveragedGradientsTrainToTheWholeBatchsWeights) {
  GENRNN_REQUIRE_GPU();
  const auto average_through_host = [](const GradientBuffer& a, const GradientBuffer& b) {
    ASSERT_EQ(a.count, b.count);
    ASSERT_GE(a.gpu, 0);
    std::vector<float> ha(a.count), hb(b.count);
    for (auto [from, to] : {std::pair{&a, &ha}, std::pair{&b, &hb}}) {
      const auto stream = static_cast<cudaStream_t>(from->stream);
      ASSERT_EQ(cudaMemcpyAsync(to->data(), from->data, from->count * sizeof(float), cudaMemcpyDeviceToHost, stream),
                cudaSuccess);
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    }
    for (std::size_t i = 0; i < ha.size(); ++i) ha[i] = (ha[i] + hb[i]) / 2;
    for (const GradientBuffer* to : {&a, &b})
      ASSERT_EQ(cudaMemcpyAsync(to->data, ha.data(), ha.size() * sizeof(float), cudaMemcpyHostToDevice,
                                static_cast<cudaStream_t>(to->stream)),
                cudaSuccess);
  };
  for (CellType cell : testing::every_cell()) {
    SCOPED_TRACE(to_string(cell));
    const ModelConfig config{cell, 2, 8, 5, 11, TokenizerKind::character};
    const auto run = testing::train_whole_and_split([&] { return make_training_engine("fused", config); }, 6, 5, 3,
                                                    0.4f, average_through_host);
    for (std::size_t step = 0; step < run.whole_losses.size(); ++step)
      EXPECT_NEAR(run.split_losses[step], run.whole_losses[step], 1e-4 * run.whole_losses[step]) << "step " << step;
    EXPECT_EQ(run.first_half, run.second_half);
    EXPECT_LT(testing::max_relative_error(run.first_half, run.whole), 1e-3);
  }
}

TEST(GpuEngine, CudnnTrainingWithDropoutDropsAndStillLearns) {
  GENRNN_REQUIRE_ENGINE("cudnn");
  // cuDNN draws its own masks, so its steps cannot match the CPU's; what must hold: dropout
  // changes the training loss, training with it lowers the loss, and the weights it leaves
  // evaluate (without dropout) as the CPU evaluates them.
  for (int embedding : {0, 8}) {
    SCOPED_TRACE("embedding " + std::to_string(embedding));
    const ModelConfig config{CellType::lstm, 3, 32, embedding, 11, TokenizerKind::character};
    auto engines = trainers("cudnn", config, 8);
    const TokenWindow window = random_window(8, 12, 11);
    TrainStepOptions with_dropout;
    with_dropout.learning_rate = 1e-2f;
    with_dropout.dropout = 0.5f;
    with_dropout.dropout_seed = 3;
    const RecurrentState start = engines.gpu->state();
    const double plain = engines.gpu->eval_window(window) / (8 * 12);
    engines.gpu->set_state(start);
    double first = 0, last = 0;
    for (int step = 0; step < 60; ++step) {
      engines.gpu->set_state(start);
      const auto loss = engines.gpu->train_step(window, with_dropout);
      ASSERT_TRUE(loss && std::isfinite(*loss));
      if (step == 0) first = *loss;
      last = *loss;
    }
    EXPECT_GT(std::abs(first - plain), 1e-3 * plain) << "dropout left the first step's loss as it was";
    EXPECT_LT(last, first);
    engines.cpu->set_parameters(engines.gpu->parameters());
    engines.cpu->set_state(start);
    engines.gpu->set_state(start);
    const double cpu = engines.cpu->eval_window(window);
    EXPECT_NEAR(engines.gpu->eval_window(window), cpu, 1e-5 * cpu);
  }
}

TEST_P(GpuEngineVsCpu, ASecondDecodeOfTheSameShapeReplaysTheGraphsTheFirstCaptured) {
  GENRNN_REQUIRE_ENGINE(engine());
  const int streams = 5, length = 20;
  auto decoder = make_decoding_engine(engine(), config());
  decoder->set_parameters(testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f));
  const std::vector<int> prompts(static_cast<std::size_t>(streams) * 3, 2);
  // Every call starts from the same state, so each one's ids are the first's.
  auto decode = [&](const SamplingOptions& sampling) {
    decoder->set_state({streams, {}, {}});
    std::vector<float> logits;
    decoder->prefill(prompts, logits);
    DecodeStats stats;
    const auto ids = decode_all(*decoder, logits, length, sampling, keys_for(streams, 3), &stats);
    return std::make_pair(ids, stats.graphs);
  };
  SamplingOptions sampling, hotter;
  hotter.temperature = 1.7f;
  const auto [first_ids, first] = decode(sampling);
  const auto [second_ids, second] = decode(sampling);
  EXPECT_EQ(first, "captured");
  EXPECT_EQ(second, "reused");
  EXPECT_EQ(second_ids, first_ids);
  // Other sampling options are the sampler's data on the device, not its arguments: the graphs
  // replay as they are, and draw with the options of the decode that replays them.
  const auto [hot_ids, hot] = decode(hotter);
  EXPECT_EQ(hot, "reused");
  EXPECT_NE(hot_ids, first_ids);
  EXPECT_EQ(decode(sampling).first, first_ids) << "a replay drew with the options of an earlier decode";
  // Another number of streams moves buffers: the graphs follow.
  decoder->set_state({streams + 3, {}, {}});
  std::vector<float> logits;
  decoder->prefill(std::vector<int>(static_cast<std::size_t>(streams + 3) * 3, 2), logits);
  DecodeStats wider;
  decode_all(*decoder, logits, length, sampling, keys_for(streams + 3, 3), &wider);
  EXPECT_NE(wider.graphs, "reused");
  EXPECT_EQ(decode(sampling).first, first_ids);
}

// Engines on the second GPU while the caller's current device is the first, and the other way
// round: every call runs on the engine's GPU (a kernel sent to a stream of another device than
// the current one fails) and gives the caller's device back.
TEST(GpuEngineDevices, EveryCallRunsOnTheEnginesGpuAndLeavesTheCallersCurrent) {
  GENRNN_REQUIRE_ENGINE("fused");
  if (list_gpus().size() < 2) GTEST_SKIP() << "one GPU: no other to choose";
  const ModelConfig config{CellType::lstm, 2, 8, 3, 11, TokenizerKind::character};
  const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
  const TokenWindow window = random_window(4, 5, config.vocab_size);
  auto current = [] {
    int device = -1;
    EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
    return device;
  };
  std::vector<std::vector<int>> texts;
  for (int caller : {0, 1}) {
    ASSERT_EQ(cudaSetDevice(caller), cudaSuccess);
    EngineOptions options;
    options.gpu = 1 - caller;
    auto trainer = make_training_engine("fused", config, options);
    auto decoder = make_decoding_engine("fused", config, options);
    auto sampler = make_sampler("fused", options);
    EXPECT_EQ(current(), caller);
    EXPECT_EQ(trainer->gpu(), 1 - caller);
    trainer->set_parameters(weights);
    trainer->set_state({4, {}, {}});
    TrainStepOptions step;
    trainer->train_step(window, step);
    decoder->set_parameters(trainer->parameters());
    decoder->set_state({2, {}, {}});
    std::vector<float> logits;
    decoder->prefill({1, 2, 3, 4}, logits);
    texts.push_back(decode_all(*decoder, logits, 20, SamplingOptions{}, keys_for(2, 9)));
    sampler->load_logits(logits, 2);
    sampler->draw(SamplingOptions{}, keys_for(2, 9), 0);
    EXPECT_EQ(current(), caller);
    trainer.reset();
    decoder.reset();
    sampler.reset();
    EXPECT_EQ(current(), caller);
  }
  EXPECT_EQ(texts[0], texts[1]);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
}

TEST(GpuEngineDevices, AGpuThatDoesNotExistIsRefusedByItsNumber) {
  GENRNN_REQUIRE_GPU();
  EngineOptions options;
  options.device = Device::cuda;
  options.gpu = static_cast<int>(list_gpus().size());
  const ModelConfig config{CellType::gru, 1, 8, 0, 5, TokenizerKind::character};
  try {
    choose_engine(options, config, EngineRole::decoding);
    ADD_FAILURE() << "GPU " << options.gpu << " was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--gpu " + std::to_string(options.gpu)), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_decoding_engine("fused", config, options), Error);
  // On the CPU the GPU's number does not matter.
  options.device = Device::cpu;
  EXPECT_EQ(choose_engine(options, config, EngineRole::decoding).engine, "cpu");
}

// cuDNN's handle costs hundreds of milliseconds and memory: only the cudnn engine makes one.
TEST(GpuEngineDevices, OnlyTheCudnnEngineMakesACudnnHandle) {
  GENRNN_REQUIRE_ENGINE("fused");
  const ModelConfig config{CellType::lstm, 1, 8, 0, 7, TokenizerKind::character};
  const int before = cuda::cudnn_handles_open();
  {
    auto trainer = make_training_engine("fused", config);
    trainer->set_parameters(testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f));
    trainer->set_state({2, {}, {}});
    trainer->train_step(random_window(2, 3, config.vocab_size), TrainStepOptions{});
    auto decoder = make_decoding_engine("fused", config);
    auto sampler = make_sampler("fused");
    sampler->load_logits(std::vector<float>(7, 0.5f), 1);
    sampler->draw(SamplingOptions{}, keys_for(1, 1), 0);
    EXPECT_EQ(cuda::cudnn_handles_open(), before);
  }
  if (testing::on_host_executor()) return;  // cuDNN is not emulated there
  auto cudnn = make_training_engine("cudnn", config);
  EXPECT_EQ(cuda::cudnn_handles_open(), before + 1);
  cudnn.reset();
  EXPECT_EQ(cuda::cudnn_handles_open(), before);
}

class GpuEngineCheckpoints : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuEngineCheckpoints, EvaluateTheSameOnBothDevicesWhereverTheyWereTrained) {
  GENRNN_REQUIRE_ENGINE(GetParam());
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
    options.engine.device = device;
    options.engine.engine = device == Device::cuda ? GetParam() : "auto";
    options.out_path = scratch.file(device == Device::cuda ? "gpu.safetensors" : "cpu.safetensors");
    Trainer trainer(model, ids, options);
    EXPECT_EQ(trainer.engine_name(), device == Device::cuda ? GetParam() : "cpu");
    trainer.run({});
    const Model trained = Model::load(options.out_path);
    const EvalResult on_cpu = evaluate(trained, ids, Device::cpu);
    const EvalResult on_gpu = evaluate(trained, ids, Device::cuda, GetParam());
    EXPECT_EQ(on_gpu.engine, GetParam());
    EXPECT_NEAR(on_gpu.loss, on_cpu.loss, 1e-5 * on_cpu.loss) << trainer.engine_name();
    EXPECT_LT(on_cpu.loss, untrained) << trainer.engine_name() << " did not train";
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, GpuEngineCheckpoints, ::testing::Values("cudnn", "fused"));

}  // namespace
}  // namespace genrnn
