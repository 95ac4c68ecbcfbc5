// The engine roles' shared entry points (one set of checks and messages for every engine),
// the engine registry and engine selection, and the cell table, on the CPU engine and in
// whichever build this is (with or without CUDA).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/cell_table.hpp"
#include "core/text_list.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/genrnn.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

// The message of the Error that `call` throws, or "nothing thrown".
template <class Call>
std::string error_of(Call&& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return "nothing thrown";
}

#define EXPECT_ERROR(call, words)                                                     \
  do {                                                                                \
    const std::string message = error_of([&] { call; });                              \
    EXPECT_NE(message.find(words), std::string::npos) << "got: " << message;          \
  } while (0)

const ModelConfig kLstm{CellType::lstm, 2, 6, 3, 9, TokenizerKind::character};

TEST(EngineRoles, WeightsAndStateAreCheckedBeforeTheEngineSeesThem) {
  auto engine = make_training_engine("cpu", kLstm);
  const std::size_t n = parameter_count(kLstm);
  EXPECT_ERROR(engine->set_parameters(std::vector<float>(n - 1)), "expected " + std::to_string(n) + " parameters");
  EXPECT_ERROR(engine->set_state({0, {}, {}}), "a batch of at least 1");
  EXPECT_ERROR(engine->set_state({2, std::vector<float>(5), {}}), "the recurrent state h has 5 values; expected 24");
  EXPECT_ERROR(engine->set_state({2, {}, std::vector<float>(7)}), "the recurrent state c has 7 values");
  auto gru = make_decoding_engine("cpu", {CellType::gru, 1, 4, 0, 5, TokenizerKind::character});
  EXPECT_ERROR(gru->set_state({1, {}, std::vector<float>(4)}), "a gru state has no c");
  // A rejected state leaves the engine's as it was.
  engine->set_state({3, {}, {}});
  EXPECT_THROW(engine->set_state({2, std::vector<float>(1), {}}), Error);
  EXPECT_EQ(engine->batch(), 3);
  EXPECT_EQ(engine->state().h.size(), std::size_t(2 * 3 * 6));
}

TEST(EngineRoles, AFreshEngineHoldsAZeroStateOfOneStream) {
  for (const auto& state : {make_training_engine("cpu", kLstm)->state(), make_decoding_engine("cpu", kLstm)->state()}) {
    EXPECT_EQ(state.batch, 1);
    EXPECT_EQ(state.h, std::vector<float>(2 * 6, 0.0f));
    EXPECT_EQ(state.c, std::vector<float>(2 * 6, 0.0f));
  }
  auto decoder = make_decoding_engine("cpu", kLstm);
  std::vector<float> logits;
  decoder->prefill({1, 2}, logits);
  EXPECT_EQ(logits.size(), std::size_t(9));
}

TEST(EngineRoles, TrainingWindowsAndOptionsAreChecked) {
  auto engine = make_training_engine("cpu", kLstm);
  engine->set_parameters(testing::random_uniform<float>(parameter_count(kLstm), -0.5f, 0.5f));
  engine->set_state({2, {}, {}});
  const TokenWindow good{2, 3, {1, 2, 3, 4, 5, 6}, {2, 3, 4, 5, 6, 7}};
  TokenWindow window = good;
  window.batch = 3;
  EXPECT_ERROR(engine->eval_window(window), "a window of 3 streams met a state of 2");
  window = good;
  window.inputs.pop_back();
  EXPECT_ERROR(engine->train_step(window, {}), "must each fill batch x seq_len");
  window = good;
  window.inputs[4] = 9;
  EXPECT_ERROR(engine->eval_window(window), "token id 9 is outside the vocabulary of 9");
  window = good;
  window.targets[0] = -1;
  std::vector<float> gradients;
  EXPECT_ERROR(engine->compute_gradients(window, gradients), "target id -1 is outside the vocabulary");
  TrainStepOptions options;
  options.dropout = 1.0f;
  EXPECT_ERROR(engine->train_step(good, options), "dropout must be in [0, 1)");
  options = {};
  options.learning_rate = 0;
  EXPECT_ERROR(engine->train_step(good, options), "learning rate must be > 0");
  EXPECT_ERROR(engine->set_optimizer_state({1, std::vector<float>(3), std::vector<float>(3)}),
               "does not match the model's");
  // The checked calls go through.
  EXPECT_GT(engine->eval_window(good), 0.0);
  EXPECT_TRUE(engine->train_step(good, {}).has_value());
  EXPECT_EQ(engine->optimizer_state().step, 1);
}

TEST(EngineRoles, PrefillAndDecodeAreChecked) {
  auto engine = make_decoding_engine("cpu", kLstm);
  engine->set_parameters(testing::random_uniform<float>(parameter_count(kLstm), -0.5f, 0.5f));
  engine->set_state({2, {}, {}});
  std::vector<float> logits;
  EXPECT_ERROR(engine->prefill({1, 2, 3}, logits), "one prompt of the same length for each of the state's 2 streams");
  EXPECT_ERROR(engine->prefill({1, 20}, logits), "prompt token id 20 is outside the vocabulary");
  engine->prefill({1, 2, 3, 4}, logits);
  ASSERT_EQ(logits.size(), std::size_t(2 * 9));
  const std::vector<DrawKey> keys = {{1, 0}, {1, 1}};
  const TokenChunkCallback keep = [](int, int, const int*) { return true; };
  EXPECT_ERROR(engine->decode(logits, 0, {}, keys, keep), "a length of at least 1");
  EXPECT_ERROR(engine->decode(logits, 5, {}, {keys[0]}, keep), "a key and the logits of each of the state's 2");
  EXPECT_ERROR(engine->decode(std::vector<float>(9), 5, {}, keys, keep), "a key and the logits");
  SamplingOptions sampling;
  sampling.top_p = 0;
  EXPECT_THROW(engine->decode(logits, 5, sampling, keys, keep), Error);
  EXPECT_ERROR(engine->decode(logits, 5, {}, keys, {}), "needs a callback");
  int delivered = 0;
  engine->decode(logits, 5, {}, keys, [&](int first, int positions, const int* ids) {
    EXPECT_EQ(first, delivered);
    for (int k = 0; k < positions * 2; ++k) EXPECT_TRUE(ids[k] >= 0 && ids[k] < 9);
    delivered += positions;
    return true;
  });
  EXPECT_EQ(delivered, 5);
}

TEST(EngineRoles, TheSamplerAloneIsChecked) {
  auto sampler = make_sampler("cpu");
  EXPECT_ERROR(sampler->draw({}, {{1, 0}}, 0), "needs loaded logits");
  EXPECT_ERROR(sampler->load_logits(std::vector<float>(10), 3), "[streams][vocab] logits");
  sampler->load_logits(std::vector<float>(12), 3);
  EXPECT_ERROR(sampler->draw({}, {{1, 0}}, 0), "one key per loaded stream");
  sampler->draw({}, {{1, 0}, {1, 1}, {1, 2}}, 0);
}

TEST(EngineRegistry, ListsEveryEngineOnceWithWhatItDoes) {
  std::set<std::string> names;
  for (const EngineEntry& entry : engine_registry()) {
    EXPECT_TRUE(names.insert(entry.name).second) << entry.name << " twice";
    EXPECT_FALSE(entry.description.empty()) << entry.name;
    EXPECT_FALSE(entry.dropout.empty()) << entry.name;
    // Every cell, but on cuDNN only those it has a mode for.
    for (const CellDescription& cell : cell_table()) {
      const bool runs = std::count(entry.cells.begin(), entry.cells.end(), cell.type) == 1;
      EXPECT_EQ(runs, entry.name != "cudnn" || cell.cudnn_mode != math::kNoCudnnMode) << entry.name << " " << cell.name;
    }
    // A GPU engine is in a build exactly when the build has CUDA.
    EXPECT_EQ(entry.in_this_build(), !entry.on_gpu || build_info().cuda) << entry.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"cpu", "cudnn", "fused"}));
  EXPECT_EQ(registered_engines().size(), names.size());
}

TEST(EngineRegistry, SelectionSaysWhyItCannotGiveAnEngine) {
  EXPECT_EQ(choose_engine(Device::cpu).engine, "cpu");
  EXPECT_EQ(choose_engine(Device::automatic, "cpu").engine, "cpu");
  EXPECT_FALSE(choose_engine(Device::cpu, "cpu").on_gpu);
  EXPECT_ERROR(choose_engine(Device::cpu, "nonesuch"), "unknown engine 'nonesuch' (expected auto, cpu, cudnn or fused)");
  EXPECT_ERROR(make_training_engine("nonesuch", kLstm), "unknown engine 'nonesuch'");
  if (!build_info().cuda) {
    // A build without CUDA names that as the reason, for either option.
    EXPECT_ERROR(choose_engine(Device::cuda), "--device cuda: this build of genrnn has no CUDA");
    EXPECT_ERROR(choose_engine(Device::automatic, "fused"), "--engine fused: this build of genrnn has no CUDA");
    EXPECT_ERROR(make_decoding_engine("cudnn", kLstm), "--engine cudnn: this build of genrnn has no CUDA");
    EXPECT_EQ(choose_engine(Device::automatic).engine, "cpu");
    return;
  }
  EXPECT_ERROR(choose_engine(Device::cpu, "fused"), "--engine fused needs a GPU");
  if (!list_gpus().empty()) return;  // what follows is the machine without a GPU
  EXPECT_ERROR(choose_engine(Device::cuda), "no usable GPU for --device cuda");
  EXPECT_ERROR(choose_engine(Device::automatic, "cudnn"), "no usable GPU for --engine cudnn");
  EXPECT_EQ(choose_engine(Device::automatic).engine, "cpu");
}

TEST(EngineRegistry, OnlyTheGpuEnginesTakeADecoder) {
  EngineOptions options;
  options.device = Device::cpu;
  options.decoder = "persistent";
  EXPECT_ERROR(choose_engine(options, kLstm), "--decoder persistent: the cpu engine has its own decoder only");
  options.decoder = "auto";
  EXPECT_EQ(choose_engine(options, kLstm).engine, "cpu");
}

TEST(CellTable, DescribesEveryCellAsTheModelSeesIt) {
  for (const CellDescription& cell : cell_table()) {
    SCOPED_TRACE(cell.name);
    EXPECT_EQ(parse_cell(cell.name), cell.type);
    EXPECT_EQ(to_string(cell.type), cell.name);
    ModelConfig config{cell.type, 2, 7, 0, 11, TokenizerKind::character};
    EXPECT_EQ(config.gate_count(), cell.gates);
    EXPECT_EQ(&describe_cell(cell.type), &cell);
    // parameter_offsets is parameter_layout by offset.
    for (int embedding : {0, 4}) {
      config.embedding_dim = embedding;
      const auto layout = parameter_layout(config);
      const ParameterOffsets offsets = parameter_offsets(config);
      for (int l = 0; l < 2; ++l) {
        const std::string k = "_l" + std::to_string(l);
        ASSERT_EQ(offsets.layers[l].tensors.size(), cell.layer_tensors.size());
        for (std::size_t t = 0; t < cell.layer_tensors.size(); ++t)
          EXPECT_EQ(offsets.layers[l].tensors[t],
                    find_tensor(layout, std::string("rnn.") + cell.layer_tensors[t].name + k).offset);
        EXPECT_EQ(offsets.layers[l].weight_ih(), find_tensor(layout, "rnn.weight_ih" + k).offset);
        EXPECT_EQ(offsets.layers[l].bias_hh(), find_tensor(layout, "rnn.bias_hh" + k).offset);
        EXPECT_EQ(offsets.layers[l].input_size, find_tensor(layout, "rnn.weight_ih" + k).shape[1]);
      }
      EXPECT_EQ(offsets.rnn_end, find_tensor(layout, "head.weight").offset);
      EXPECT_EQ(offsets.head_bias, find_tensor(layout, "head.bias").offset);
      EXPECT_EQ(offsets.count, parameter_count(config));
      if (embedding > 0) EXPECT_EQ(offsets.embedding, find_tensor(layout, "embedding.weight").offset);
    }
  }
  EXPECT_ERROR(parse_cell("lstmx"), "unknown cell 'lstmx' (expected " + one_of(cell_names()) + ")");
}

}  // namespace
}  // namespace genrnn
