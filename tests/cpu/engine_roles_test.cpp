// The engine roles' shared entry points (one set of checks and messages for every engine),
// the engine registry and engine selection, and the cell table, on the CPU engine and in
// whichever build this is (with or without CUDA).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/cell_table.hpp"
#include "core/cuda_build.hpp"
#include "core/text_list.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/genrnn.hpp"
#include "genrnn/limits.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/error_of.hpp"
#include "tests/support/numeric.hpp"
#include "tests/support/slot_prefill.hpp"

namespace genrnn {
namespace {

using testing::error_of;

#define EXPECT_ERROR(call, words)                                            \
  do {                                                                       \
    const std::string message = error_of([&] { call; });                     \
    EXPECT_NE(message.find(words), std::string::npos) << "got: " << message; \
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

TEST(EngineRoles, SlotPrefillIsChecked) {
  auto engine = make_decoding_engine("cpu", {CellType::lstm, 1, 4, 0, 7, TokenizerKind::character});
  engine->set_state({3, {}, {}});
  std::vector<float> logits;
  EXPECT_ERROR(engine->prefill_slots({}, {}, true, logits), "one prompt for each slot");
  EXPECT_ERROR(engine->prefill_slots({0, 1}, {{1}}, true, logits), "one prompt for each slot");
  EXPECT_ERROR(engine->prefill_slots({3}, {{1}}, true, logits), "slot 3 is not one of the state's 3 streams");
  EXPECT_ERROR(engine->prefill_slots({1, 1}, {{1}, {2}}, true, logits), "slot 1 is given twice");
  EXPECT_ERROR(engine->prefill_slots({1}, {{}}, true, logits), "a prompt of at least one token");
  EXPECT_ERROR(engine->prefill_slots({1}, {{9}}, true, logits), "prompt token id 9 is outside the vocabulary of 7");
  EXPECT_EQ(engine->batch(), 3);
}

// A new stream joins a running batch in its slot, and a running one takes its next tokens,
// as each would alone; the other slots keep their state.
TEST(EngineRoles, SlotPrefillRunsEachSlotAsAloneAndKeepsTheOthers) {
  for (CellType cell : testing::every_cell())
    for (bool fresh : {true, false}) {
      SCOPED_TRACE(to_string(cell) + (fresh ? " fresh" : " continued"));
      const ModelConfig config{cell, 2, 8, 5, 11, TokenizerKind::character};
      auto engine = make_decoding_engine("cpu", config), reference = make_decoding_engine("cpu", config);
      const auto weights = testing::random_uniform<float>(parameter_count(config), -0.5f, 0.5f);
      engine->set_parameters(weights);
      reference->set_parameters(weights);
      const auto errors = testing::check_slot_prefill(*engine, *reference, fresh);
      EXPECT_LT(errors.logits, 1e-5);
      EXPECT_LT(errors.states, 1e-5);
      EXPECT_TRUE(errors.others_kept);
    }
}

TEST(EngineRoles, TheSamplerAloneIsChecked) {
  auto sampler = make_sampler("cpu");
  EXPECT_ERROR(sampler->draw({}, {{1, 0}}, 0), "needs loaded logits");
  EXPECT_ERROR(sampler->load_logits(std::vector<float>(10), 3), "[streams][vocab] logits");
  sampler->load_logits(std::vector<float>(12), 3);
  EXPECT_ERROR(sampler->draw({}, {{1, 0}}, 0), "one key per loaded stream");
  sampler->draw({}, {{1, 0}, {1, 1}, {1, 2}}, 0);
  SamplingOptions too_hot;
  too_hot.temperature = -1;
  EXPECT_ERROR(sampler->draw({StreamDraw{{1, 0}, {}, 0}, StreamDraw{{1, 1}, too_hot, 0}, StreamDraw{{1, 2}, {}, 0}}),
               "temperature");
}

// Each stream draws with its own options at its own position: the token sample_token gives it.
TEST(EngineRoles, EachStreamDrawsWithItsOwnOptionsAtItsOwnPosition) {
  const int vocab = 30;
  const std::vector<float> logits = testing::random_uniform<float>(4 * vocab, -3.0f, 3.0f);
  const std::vector<StreamDraw> draws = {{{5, 0}, {0.0f, 0, 1.0f, 0}, 0},
                                         {{6, 1}, {1.0f, 0, 1.0f, 0}, 9},
                                         {{7, 2}, {1.5f, 4, 1.0f, 0}, 100},
                                         {{8, 3}, {0.7f, 0, 0.6f, 0}, 3}};
  std::vector<float> first_logits = logits;
  auto decoder = make_decoding_engine("cpu", {CellType::lstm, 1, 4, 0, vocab, TokenizerKind::character});
  decoder->set_state({4, {}, {}});
  std::vector<int> drawn;
  decoder->decode(first_logits, 1, draws, [&](int, int, const int* ids) {
    drawn.assign(ids, ids + 4);
    return true;
  });
  for (int s = 0; s < 4; ++s) {
    SamplingOptions options = draws[s].sampling;
    options.seed = draws[s].key.seed;
    EXPECT_EQ(drawn[s], sample_token(logits.data() + s * vocab, vocab, options, draws[s].key.stream, draws[s].position))
        << "stream " << s;
  }
}

// The registry's tests name no engine and no cell: they sweep the registry and the cell table,
// so that a new engine or cell is tested by being registered or listed.

const std::vector<EngineRole> kRoles = {EngineRole::training, EngineRole::decoding, EngineRole::sampling};

ModelConfig small_model(CellType cell, int layers = 1, int embedding = 0) {
  return {cell, layers, 6, embedding, 9, TokenizerKind::character};
}

// The role's factory, through the checked entry point, for a model of `config`.
void make_role(const EngineEntry& engine, const ModelConfig& config, EngineRole role) {
  if (role == EngineRole::training) make_training_engine(engine, config);
  if (role == EngineRole::decoding) make_decoding_engine(engine, config);
  if (role == EngineRole::sampling) make_sampler(engine);
}

std::string role_verb(EngineRole role) {
  return role == EngineRole::training ? "train" : role == EngineRole::decoding ? "decode" : "sample";
}

// The engine "auto" takes on the CPU: the reference the other engines are compared with.
const EngineEntry& reference_engine() { return find_engine(choose_engine(Device::cpu).engine); }

std::vector<const EngineEntry*> engines_where(bool on_gpu, bool in_this_build) {
  std::vector<const EngineEntry*> engines;
  for (const EngineEntry& entry : engine_registry())
    if (entry.on_gpu == on_gpu && entry.in_this_build() == in_this_build) engines.push_back(&entry);
  return engines;
}

TEST(EngineRegistry, ListsEveryEngineOnceWithWhatItDoes) {
  std::vector<std::string> names{"auto"};
  const std::vector<EngineInfo> listed = registered_engines();
  ASSERT_EQ(listed.size(), engine_registry().size());
  for (std::size_t k = 0; k < listed.size(); ++k) {
    const EngineEntry& entry = engine_registry()[k];
    const EngineInfo& info = listed[k];
    SCOPED_TRACE(entry.name);
    EXPECT_EQ(std::count(names.begin(), names.end(), entry.name), 0) << "twice";
    names.push_back(entry.name);
    EXPECT_FALSE(entry.description.empty());
    EXPECT_FALSE(entry.dropout.empty());
    // A GPU engine is in a build exactly when the build has CUDA.
    EXPECT_EQ(entry.in_this_build(), !entry.on_gpu || build_info().cuda);
    EXPECT_EQ(info.name, entry.name);
    EXPECT_EQ(info.in_this_build, entry.in_this_build());
    // Info lists the cells it runs by name, and says why not for each of the others.
    std::vector<std::string> cells;
    for (CellType cell : entry.cells()) cells.push_back(to_string(cell));
    EXPECT_EQ(info.cells, cells);
    const auto lists = [&](const std::string& line) {
      return std::find(info.limits.begin(), info.limits.end(), line) != info.limits.end();
    };
    for (const CellDescription& cell : cell_table())
      if (std::find(cells.begin(), cells.end(), cell.name) == cells.end()) {
        ASSERT_TRUE(entry.why_not_cell);
        EXPECT_TRUE(lists(entry.why_not_cell(cell.type))) << cell.name;
      }
    // And what its decoders do not decode, where it has them.
    if (entry.in_this_build())
      for (const EngineDecoder& decoder : entry.decoders)
        for (CellType cell : entry.cells())
          if (decoder.why_not)
            for (int layers : {1, limits::max_layers}) {
              const std::string why = decoder.why_not(small_model(cell, layers));
              if (!why.empty()) EXPECT_TRUE(lists("--decoder " + decoder.name + ": " + why)) << why;
            }
  }
  EXPECT_ERROR(find_engine("nonesuch"), "unknown engine 'nonesuch' (expected " + one_of(names) + ")");
}

// Registry x cells x roles: an engine either runs a model in a role or says in one line why
// not, and that line is the error of making it there.
TEST(EngineRegistry, AnEngineSaysWhyItDoesNotRunAModel) {
  for (const EngineEntry& entry : engine_registry())
    for (const CellDescription& cell : cell_table())
      for (EngineRole role : kRoles) {
        SCOPED_TRACE(entry.name + " " + cell.name + " " + role_verb(role));
        const ModelConfig config = small_model(cell.type);
        const auto cells = entry.cells();
        const bool runs_cell = std::count(cells.begin(), cells.end(), cell.type) == 1;
        const std::string why = entry.supports(config, role);
        EXPECT_EQ(why.empty(), entry.in_this_build() && entry.has(role) && (runs_cell || role == EngineRole::sampling));
        if (why.empty()) continue;
        EXPECT_EQ(why.find('\n'), std::string::npos);
        if (!entry.in_this_build())
          EXPECT_EQ(why, why_no_cuda_build());
        else if (entry.has(role))
          EXPECT_NE(why.find(cell.name), std::string::npos) << why;  // the cell, by name
        EXPECT_ERROR(make_role(entry, config, role), "--engine " + entry.name + ": " + why);
      }
}

// An engine may lack a role: it says so, naming itself and the role, and still has the others.
TEST(EngineRegistry, AnEngineWithoutARoleSaysSoWhenAskedForIt) {
  const EngineEntry& reference = reference_engine();
  for (EngineRole missing : kRoles) {
    SCOPED_TRACE(role_verb(missing));
    EngineEntry partial = reference;
    if (missing == EngineRole::training) partial.make.training = nullptr;
    if (missing == EngineRole::decoding) partial.make.decoding = nullptr;
    if (missing == EngineRole::sampling) partial.make.sampler = nullptr;
    EXPECT_TRUE(partial.in_this_build());
    EXPECT_FALSE(partial.has(missing));
    const std::string why = "the " + partial.name + " engine does not " + role_verb(missing);
    EXPECT_EQ(partial.supports(kLstm, missing), why);
    EXPECT_ERROR(make_role(partial, kLstm, missing), "--engine " + partial.name + ": " + why);
    for (EngineRole role : kRoles)
      if (role != missing) EXPECT_NO_THROW(make_role(partial, kLstm, role));
  }
  EngineEntry none = reference;
  none.make = {};
  EXPECT_FALSE(none.in_this_build());
}

TEST(EngineRegistry, SelectionSaysWhyItCannotGiveAnEngine) {
  EXPECT_FALSE(reference_engine().on_gpu);
  for (const EngineEntry* cpu : engines_where(false, true)) {
    EXPECT_EQ(choose_engine(Device::cpu, cpu->name).engine, cpu->name);
    EXPECT_EQ(choose_engine(Device::automatic, cpu->name).engine, cpu->name);
    EXPECT_FALSE(choose_engine(Device::automatic, cpu->name).on_gpu);
  }
  EXPECT_ERROR(choose_engine(Device::cpu, "nonesuch"), "unknown engine 'nonesuch' (expected auto, ");
  EXPECT_ERROR(make_training_engine("nonesuch", kLstm), "unknown engine 'nonesuch'");
  if (!build_info().cuda) {
    // A build without CUDA names that as the reason, for either option.
    EXPECT_ERROR(choose_engine(Device::cuda), "--device cuda: this build of genrnn has no CUDA");
    for (const EngineEntry* gpu : engines_where(true, false)) {
      const std::string why = "--engine " + gpu->name + ": this build of genrnn has no CUDA";
      EXPECT_ERROR(choose_engine(Device::automatic, gpu->name), why);
      EXPECT_ERROR(make_decoding_engine(gpu->name, kLstm), why);
    }
    EXPECT_EQ(choose_engine(Device::automatic).engine, reference_engine().name);
    return;
  }
  for (const EngineEntry* gpu : engines_where(true, true))
    EXPECT_ERROR(choose_engine(Device::cpu, gpu->name), "--engine " + gpu->name + " needs a GPU");
  if (!list_gpus().empty()) return;  // what follows is the machine without a GPU
  EXPECT_ERROR(choose_engine(Device::cuda), "no usable GPU for --device cuda");
  for (const EngineEntry* gpu : engines_where(true, true))
    EXPECT_ERROR(choose_engine(Device::automatic, gpu->name), "no usable GPU for --engine " + gpu->name);
  EXPECT_EQ(choose_engine(Device::automatic).engine, reference_engine().name);
}

// "auto" takes, on the device, the first engine that runs the model in the role, and says which
// it passed over and why; on every device the build has, some engine runs every cell.
TEST(EngineRegistry, AutoTakesTheFirstEngineThatRunsTheModel) {
  for (bool on_gpu : {false, true}) {
    if (on_gpu && list_gpus().empty()) continue;
    EngineOptions options;
    options.device = on_gpu ? Device::cuda : Device::cpu;
    for (const CellDescription& cell : cell_table())
      for (EngineRole role : kRoles) {
        SCOPED_TRACE(std::string(on_gpu ? "gpu " : "cpu ") + cell.name + " " + role_verb(role));
        const ModelConfig config = small_model(cell.type);
        std::vector<const EngineEntry*> passed;
        const EngineEntry* first = nullptr;
        for (const EngineEntry& entry : engine_registry()) {
          if (entry.on_gpu != on_gpu || first) continue;
          if (entry.supports(config, role).empty())
            first = &entry;
          else
            passed.push_back(&entry);
        }
        ASSERT_NE(first, nullptr);
        const EngineChoice choice = choose_engine(options, config, role);
        EXPECT_EQ(choice.engine, first->name);
        for (const EngineEntry* entry : passed)
          EXPECT_NE(choice.reason.find(entry->name + ": " + entry->supports(config, role)), std::string::npos)
              << choice.reason;
      }
  }
}

TEST(EngineRegistry, AnEngineTakesOnlyItsOwnDecoders) {
  std::set<std::string> decoders;
  for (const EngineEntry& entry : engine_registry())
    for (const EngineDecoder& decoder : entry.decoders) decoders.insert(decoder.name);
  for (const EngineEntry* cpu : engines_where(false, true)) {
    EngineOptions options;
    options.device = Device::cpu;
    options.engine = cpu->name;
    for (const std::string& decoder : decoders) {
      options.decoder = decoder;
      const bool has = std::any_of(cpu->decoders.begin(), cpu->decoders.end(),
                                   [&](const EngineDecoder& d) { return d.name == decoder; });
      if (has)
        EXPECT_EQ(choose_engine(options, kLstm, EngineRole::decoding).engine, cpu->name);
      else
        EXPECT_ERROR(choose_engine(options, kLstm, EngineRole::decoding),
                     "--decoder " + decoder + ": the " + cpu->name + " engine ");
    }
    options.decoder = "auto";
    EXPECT_EQ(choose_engine(options, kLstm, EngineRole::decoding).engine, cpu->name);
  }
}

// Every CPU engine of this build x every cell it runs x small shapes, against the reference (a
// second one of itself, for the reference): as tests/gpu/gpu_engine_gpu_test.cpp sweeps the
// GPU engines, so that a new CPU engine is tested by being registered.
struct CpuCase {
  std::string engine;
  CellType cell;
  int layers;
  int embedding;
};

std::vector<CpuCase> every_cpu_engine_and_cell() {
  std::vector<CpuCase> cases;
  for (const EngineEntry* engine : engines_where(false, true))
    for (CellType cell : engine->cells())
      for (const auto& [layers, embedding] : std::vector<std::pair<int, int>>{{1, 0}, {2, 4}})
        cases.push_back({engine->name, cell, layers, embedding});
  return cases;
}

class CpuEngineVsReference : public ::testing::TestWithParam<CpuCase> {
 protected:
  const EngineEntry& engine() const { return find_engine(GetParam().engine); }
  ModelConfig config() const { return small_model(GetParam().cell, GetParam().layers, GetParam().embedding); }
  std::vector<float> weights_ = testing::random_uniform<float>(parameter_count(config()), -0.5f, 0.5f);
  RecurrentState state_{2, testing::random_uniform<float>(std::size_t(2) * config().num_layers * 6, -0.5f, 0.5f),
                        has_cell_state(config())
                            ? testing::random_uniform<float>(std::size_t(2) * config().num_layers * 6, -0.5f, 0.5f)
                            : std::vector<float>{}};

  template <class Role>
  void load(Role& engine) const {
    engine.set_parameters(weights_);
    engine.set_state(state_);
  }
};

TEST_P(CpuEngineVsReference, TrainsAStepAsTheReferenceDoes) {
  if (!engine().supports(config(), EngineRole::training).empty()) GTEST_SKIP() << "it does not train";
  auto tested = make_training_engine(engine(), config());
  auto reference = make_training_engine(reference_engine(), config());
  const TokenWindow window{2, 5, testing::random_ids(10, 9), testing::random_ids(10, 9)};
  std::vector<float> tested_gradients, reference_gradients;
  for (TrainingEngine* each : {tested.get(), reference.get()}) load(*each);
  EXPECT_NEAR(tested->compute_gradients(window, tested_gradients),
              reference->compute_gradients(window, reference_gradients), 1e-5);
  EXPECT_LT(testing::max_relative_error(tested_gradients, reference_gradients), 1e-4);
  for (TrainingEngine* each : {tested.get(), reference.get()}) load(*each);
  const auto tested_loss = tested->train_step(window, {}), reference_loss = reference->train_step(window, {});
  ASSERT_TRUE(tested_loss && reference_loss);
  EXPECT_NEAR(*tested_loss, *reference_loss, 1e-5);
  EXPECT_LT(testing::max_relative_error(tested->parameters(), reference->parameters()), 1e-4);
  EXPECT_LT(testing::max_relative_error(tested->state().h, reference->state().h), 1e-4);
}

TEST_P(CpuEngineVsReference, DecodesAsTheReferenceDoes) {
  if (!engine().supports(config(), EngineRole::decoding).empty()) GTEST_SKIP() << "it does not decode";
  auto tested = make_decoding_engine(engine(), config());
  auto reference = make_decoding_engine(reference_engine(), config());
  std::vector<std::vector<int>> ids(2);
  std::vector<std::vector<float>> logits(2);
  int k = 0;
  for (DecodingEngine* each : {tested.get(), reference.get()}) {
    load(*each);
    each->prefill({1, 2, 3, 4, 5, 6}, logits[k]);
    each->decode(logits[k], 8, {}, {{3, 0}, {3, 1}}, [&](int, int positions, const int* chunk) {
      ids[k].insert(ids[k].end(), chunk, chunk + positions * 2);
      return true;
    });
    ++k;
  }
  EXPECT_LT(testing::max_relative_error(logits[0], logits[1]), 1e-4);
  EXPECT_EQ(ids[0], ids[1]);
}

INSTANTIATE_TEST_SUITE_P(EnginesAndCells, CpuEngineVsReference, ::testing::ValuesIn(every_cpu_engine_and_cell()),
                         [](const ::testing::TestParamInfo<CpuCase>& info) {
                           return info.param.engine + "_" + to_string(info.param.cell) + "_l" +
                                  std::to_string(info.param.layers) + "_e" + std::to_string(info.param.embedding);
                         });

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
