// Training, resuming, evaluation and generation through the public API on the CPU engine.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "core/atomic_file.hpp"
#include "cpu/network.hpp"
#include "genrnn/genrnn.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/exited_process.hpp"
#include "tests/support/numeric.hpp"
#include "tests/support/scratch_folder.hpp"

namespace genrnn {
namespace {

// Text with structure a small model can learn: sentences drawn from a few templates.
std::string structured_text(std::size_t length, uint64_t seed) {
  const char* sentences[] = {"the cat sat on the mat. ", "a dog ran to the park. ", "my hat is red. ",
                             "we like to sing songs. ",  "the sun is hot today. ",  "birds fly over the sea.\n"};
  std::mt19937_64 engine(seed);
  std::string text;
  while (text.size() < length) text += sentences[engine() % 6];
  return text;
}

// Entropy (nats) of the token frequencies: what a model that ignores context achieves.
double unigram_entropy(const std::vector<int>& ids) {
  std::map<int, double> counts;
  for (int id : ids) counts[id] += 1;
  double entropy = 0;
  for (const auto& [id, count] : counts) {
    const double p = count / static_cast<double>(ids.size());
    entropy -= p * std::log(p);
  }
  return entropy;
}

Model small_model(const std::string& text, CellType cell, int layers, uint64_t seed) {
  auto tokenizer = Tokenizer::build(TokenizerKind::character, text, 0);
  const ModelConfig config{cell, layers, 48, 16, tokenizer.size(), TokenizerKind::character};
  return Model::initialize(config, std::move(tokenizer), seed);
}

// A short CPU run that checkpoints only at its end.
TrainOptions short_run(int seq_len, int batch, int64_t steps, float val_frac, const std::string& out_path) {
  TrainOptions options;
  options.seq_len = seq_len;
  options.batch = batch;
  options.steps = steps;
  options.val_frac = val_frac;
  options.checkpoint_every = 0;
  options.engine.device = Device::cpu;
  options.out_path = out_path;
  return options;
}

// Every cell learns, and resumes from its checkpoint exactly.
class TrainingCells : public ::testing::TestWithParam<CellType> {};
INSTANTIATE_TEST_SUITE_P(Cells, TrainingCells, ::testing::ValuesIn(testing::every_cell()), testing::CellName{});

TEST_P(TrainingCells, ValidationLossFallsWellBelowUnigramEntropy) {
  const std::string text = structured_text(40000, 1);
  const Model model = small_model(text, GetParam(), 1, 3);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const testing::ScratchFolder scratch;
  TrainOptions options = short_run(32, 16, 200, 0.1f, scratch.file("model.safetensors"));
  options.step.learning_rate = 1e-2f;
  options.eval_every = 0;
  Trainer trainer(model, ids, options);
  const double before = trainer.validation_loss();
  trainer.run({});
  const double after = trainer.validation_loss();
  const std::vector<int> tail(ids.end() - static_cast<std::ptrdiff_t>(ids.size() / 10), ids.end());
  const double entropy = unigram_entropy(tail);
  EXPECT_GT(before, entropy * 0.9);  // an untrained model does no better than frequencies
  EXPECT_LT(after, entropy * 0.5) << "before " << before << ", unigram entropy " << entropy;
  EXPECT_TRUE(std::filesystem::exists(options.out_path));
  EXPECT_TRUE(std::filesystem::exists(optimizer_state_path(options.out_path)));
}

TEST_P(TrainingCells, ResumeContinuesExactlyAsOneUninterruptedRun) {
  const std::string text = structured_text(3000, 2);
  const Model model = small_model(text, GetParam(), 2, 4);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const testing::ScratchFolder scratch;
  // (2700 / 8 - 1) / 16 = 20 windows an epoch: the run crosses into a second epoch.
  TrainOptions options = short_run(16, 8, 30, 0.1f, scratch.file("straight.safetensors"));
  options.step.dropout = 0.2f;
  options.eval_every = 7;  // validation in between must not disturb the carried state
  Trainer straight(model, ids, options);
  straight.run({});

  options.out_path = scratch.file("resumed.safetensors");
  options.steps = 13;
  Trainer first_half(model, ids, options);
  first_half.run({});
  options.steps = 30;
  options.resume = true;
  Trainer second_half(Model::load(options.out_path), ids, options);
  EXPECT_EQ(second_half.step(), 13);
  second_half.run({});
  EXPECT_EQ(second_half.model().parameters, straight.model().parameters);
}

TEST(Training, ResumeRefusesAnOptimizerFileOfOtherWeights) {
  const std::string text = structured_text(3000, 3);
  const Model model = small_model(text, CellType::rnn, 1, 5);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const testing::ScratchFolder scratch;
  TrainOptions options = short_run(16, 4, 3, 0, scratch.file("model.safetensors"));
  Trainer(model, ids, options).run({});
  model.save(options.out_path);  // replace the weights, keep the old optimizer file
  options.resume = true;
  EXPECT_THROW(Trainer(model, ids, options), Error);
}

TEST(Training, RemovesTheTemporaryFilesOfAKilledRunAndSaysSo) {
  const std::string text = structured_text(3000, 5);
  const Model model = small_model(text, CellType::lstm, 1, 6);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const testing::ScratchFolder scratch;
  const TrainOptions options = short_run(16, 4, 2, 0, scratch.file("model.safetensors"));
  const long dead = testing::pid_of_an_exited_process();
  const std::string model_temp = temporary_path(scratch.file("model.safetensors"), dead);
  const std::string optim_temp = temporary_path(scratch.file("model.safetensors.optim"), dead);
  const std::string own_pid_temp = temporary_path(scratch.file("model.safetensors.optim"), ::getpid());
  const std::string earlier_version_temp = scratch.file("model.safetensors.tmp." + std::to_string(dead));
  const std::vector<std::string> kept = {
      temporary_path(scratch.file("model.safetensors"), ::getppid()),  // a writer still running
      scratch.file("model.safetensors.tmp.another-machine." + std::to_string(dead)),
      temporary_path(scratch.file("other.safetensors"), dead), scratch.file("model.safetensors.tmp.notapid")};
  for (const std::string& name : {model_temp, optim_temp, own_pid_temp, earlier_version_temp})
    std::ofstream(name) << "partial";
  for (const std::string& name : kept) std::ofstream(name) << "partial";

  const Trainer trainer(model, ids, options);
  std::string notes;
  for (const std::string& note : trainer.notes()) notes += note + "\n";
  EXPECT_EQ(trainer.notes().size(), 4u) << notes;
  for (const std::string& removed : {model_temp, optim_temp, own_pid_temp, earlier_version_temp}) {
    EXPECT_NE(notes.find("removed " + removed + ", left by an earlier run that was killed"), std::string::npos)
        << removed << " not in:\n"
        << notes;
    EXPECT_FALSE(std::filesystem::exists(removed)) << removed;
  }
  for (const std::string& name : kept) EXPECT_TRUE(std::filesystem::exists(name)) << name;
}

TEST(Training, RefusesAnOutputPathItCouldNotWriteBeforeTheFirstStep) {
  const std::string text = structured_text(3000, 6);
  const Model model = small_model(text, CellType::gru, 1, 7);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const testing::ScratchFolder scratch;
  std::ofstream(scratch.file("a_file")) << "not a folder";
  std::filesystem::create_directory(scratch.file("a_folder"));
  const struct {
    std::string out_path, says;
  } cases[] = {{scratch.file("missing/model.safetensors"), "No such file or directory"},
               {scratch.file("a_file/model.safetensors"), "is not a folder"},
               {scratch.file("a_folder"), "is a folder"}};
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.out_path);
    try {
      Trainer(model, ids, short_run(16, 4, 2, 0, bad.out_path));
      ADD_FAILURE() << "accepted an output path it cannot write";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad.says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(bad.out_path), std::string::npos) << e.what();
    }
  }
  const std::vector<std::filesystem::path> left{std::filesystem::directory_iterator(scratch.path()), {}};
  EXPECT_EQ(left.size(), 2u) << "the check left a file behind";
}

// A time limit ends the run after the step in which it ran out, as the last step would: validated
// and saved. A limit of a nanosecond runs out during the first step, whatever the machine.
TEST(Training, ATimeLimitEndsTheRunAsItsLastStepWould) {
  const std::string text = structured_text(3000, 7);
  const Model model = small_model(text, CellType::lstm, 1, 8);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const testing::ScratchFolder scratch;
  TrainOptions options = short_run(16, 4, 1'000'000'000, 0.1f, scratch.file("model.safetensors"));
  options.time_limit = 1e-9;
  Trainer trainer(model, ids, options);
  std::vector<TrainProgress> reports;
  trainer.run([&](const TrainProgress& progress) { reports.push_back(progress); });
  ASSERT_FALSE(reports.empty());
  EXPECT_LT(trainer.step(), trainer.total_steps());
  EXPECT_EQ(reports.back().step, trainer.step());
  EXPECT_TRUE(reports.back().out_of_time);
  EXPECT_TRUE(reports.back().evaluated);
  EXPECT_TRUE(reports.back().checkpointed);
  for (std::size_t k = 0; k + 1 < reports.size(); ++k) EXPECT_FALSE(reports[k].out_of_time) << k;
  EXPECT_TRUE(std::filesystem::exists(options.out_path));
  TrainOptions resuming = options;
  resuming.resume = true;
  const Trainer resumed(Model::load(options.out_path), ids, resuming);
  EXPECT_EQ(resumed.step(), trainer.step());

  // A limit that does not run out leaves the step count in charge.
  options.steps = 2;
  options.time_limit = 1e6;
  options.out_path = scratch.file("capped.safetensors");
  Trainer capped(model, ids, options);
  capped.run([&](const TrainProgress& progress) { EXPECT_FALSE(progress.out_of_time); });
  EXPECT_EQ(capped.step(), 2);

  options.time_limit = -1;
  EXPECT_THROW(Trainer(model, ids, options), Error);
}

TEST(Evaluate, OneStreamLossDoesNotDependOnChunking) {
  const std::string text = structured_text(1500, 4);
  const Model model = small_model(text, CellType::lstm, 2, 6);
  const auto ids = model.tokenizer.encode(text, UnknownPolicy::error);
  const EvalResult result = evaluate(model, ids, Device::cpu);
  EXPECT_EQ(result.tokens, static_cast<int64_t>(ids.size()) - 1);

  cpu::CpuNetwork<double> network(model.config);
  network.parameters().assign(model.parameters.begin(), model.parameters.end());
  const int n = static_cast<int>(ids.size()) - 1;
  network.forward(ids.data(), 1, n);
  const double expected = network.loss(ids.data() + 1) / n;
  EXPECT_NEAR(result.loss, expected, 1e-5 * expected);
  EXPECT_NEAR(result.bits_per_token, expected / std::log(2.0), 1e-5 * expected);
  EXPECT_NEAR(result.perplexity, std::exp(expected), 1e-4 * std::exp(expected));
}

TEST(Generator, SameSeedSameTextAndGreedyStreamsAgree) {
  const std::string text = structured_text(2000, 5);
  const Model model = small_model(text, CellType::lstm, 2, 7);
  Generator generator(model, Device::cpu);
  GenerateOptions options;
  options.length = 40;
  options.sampling.seed = 11;
  std::string streamed;
  const auto first =
      generator.generate("the ", options, [&](int, int, const std::string& piece) { streamed += piece; });
  EXPECT_EQ(first.front(), streamed);
  EXPECT_EQ(model.tokenizer.encode(first.front(), UnknownPolicy::error).size(), 40u);
  EXPECT_EQ(generator.generate("the ", options), first);
  options.sampling.seed = 12;
  EXPECT_NE(generator.generate("the ", options), first);

  options.sampling.temperature = 0;
  options.num_samples = 3;
  const auto greedy = generator.generate("the ", options);
  ASSERT_EQ(greedy.size(), 3u);
  EXPECT_EQ(greedy[0], greedy[1]);
  EXPECT_EQ(greedy[0], greedy[2]);
}

TEST(Generator, RefusesAPromptPastTheLimit) {
  const std::string text = structured_text(2000, 8);
  GenerateOptions options;
  options.length = 1;
  try {
    Generator(small_model(text, CellType::lstm, 1, 9), Device::cpu)
        .generate(std::string(limits::max_prompt_bytes + 1, 'a'), options);
    FAIL() << "took a prompt past the limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the limit is " + std::to_string(limits::max_prompt_bytes)), std::string::npos)
        << e.what();
  }
}

TEST(Generator, KeepsItsOwnModel) {
  const std::string text = structured_text(2000, 5);
  Model model = small_model(text, CellType::lstm, 1, 7);
  GenerateOptions options;
  options.length = 30;
  options.sampling.seed = 4;
  Generator generator(model, Device::cpu);
  const auto before = generator.generate("the ", options);
  // What the caller does with its model afterwards does not reach the generator.
  model.tokenizer = Tokenizer::build(TokenizerKind::character, "zyxwvutsrqponmlkjihgfedcba .\n", 0);
  model.parameters.assign(model.parameters.size(), 0.0f);
  EXPECT_EQ(generator.generate("the ", options), before);
  // Nor does a temporary's end: Generator g(Model::load(path), ...) is safe.
  Generator from_temporary(small_model(text, CellType::lstm, 1, 7), Device::cpu);
  EXPECT_EQ(from_temporary.generate("the ", options), before);
}

TEST(Generator, StopEndsEachStreamRightAfterItsStopString) {
  const std::string text = structured_text(2000, 7);
  const Model model = small_model(text, CellType::gru, 1, 9);
  Generator generator(model, Device::cpu);
  GenerateOptions options;
  options.length = 400;
  options.num_samples = 3;
  options.sampling.seed = 5;
  options.stop = "e";
  std::vector<std::string> streamed(3);
  const auto texts =
      generator.generate("the", options, [&](int s, int, const std::string& piece) { streamed[s] += piece; });
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(texts[s].find(options.stop), texts[s].size() - options.stop.size()) << texts[s];
    EXPECT_EQ(streamed[s], texts[s]);  // the callback saw exactly the kept text
  }
  options.stop = "this is never generated";
  for (const auto& full : generator.generate("the", options))
    EXPECT_EQ(model.tokenizer.encode(full, UnknownPolicy::error).size(), 400u);
}

class GeneratorStreams : public ::testing::TestWithParam<CellType> {};

TEST_P(GeneratorStreams, WithTheirOwnPromptsSeedsAndLengthsMatchTheirRunsAlone) {
  const std::string text = structured_text(2000, 8);
  const Model model = small_model(text, GetParam(), 2, 10);
  Generator generator(model, Device::cpu);
  const std::vector<StreamRequest> requests = {{"the cat", 1, 0, 30, ""},
                                               {"a", 2, 0, 12, ""},
                                               {"the cat", 3, 5, 25, ""},
                                               {"we like", 1, 0, 40, ""},
                                               {"the cat", 1, 0, 30, ""}};
  const GenerateOptions options;  // the defaults: T = 0.8, no top-k or top-p
  const auto batched = generator.generate(requests, options);
  ASSERT_EQ(batched.size(), requests.size());
  for (std::size_t s = 0; s < requests.size(); ++s) {
    EXPECT_EQ(model.tokenizer.encode(batched[s], UnknownPolicy::error).size(),
              static_cast<std::size_t>(requests[s].length));
    // One row at a time rounds differently from a batch; a draw within ~1e-7 of a boundary
    // could flip, which these few draws are most unlikely to meet.
    EXPECT_EQ(generator.generate({requests[s]}, options).front(), batched[s]) << "stream " << s;
  }
  EXPECT_EQ(batched[0], batched[4]);  // the same request, the same text
  EXPECT_NE(batched[0], batched[2]);  // the same prompt, another seed and stream
}

// Every cell: GRU and RNN states have no c, which the batch's prefill must not touch.
INSTANTIATE_TEST_SUITE_P(Cells, GeneratorStreams, ::testing::ValuesIn(testing::every_cell()), testing::CellName{});

TEST(Generator, InitialStateIsUsedAndChecked) {
  const std::string text = structured_text(2000, 6);
  const Model model = small_model(text, CellType::lstm, 2, 8);
  Generator generator(model, Device::cpu);
  GenerateOptions options;
  options.length = 30;
  options.sampling.seed = 3;
  // Starting from the state that "a" leaves behind, the prompt "b" continues exactly as "ab".
  cpu::CpuNetwork<float> network(model.config);
  network.parameters() = model.parameters;
  const int a = model.tokenizer.encode("a", UnknownPolicy::error).front();
  network.forward(&a, 1, 1);
  const RecurrentState after_a = network.state();
  EXPECT_EQ(generator.generate("b", options, {}, &after_a), generator.generate("ab", options));
  const RecurrentState wrong_batch{2, {}, {}};
  EXPECT_THROW(generator.generate("a", options, {}, &wrong_batch), Error);
  EXPECT_THROW(generator.generate("", options), Error);
}

TEST(Generator, StateAfterATextIsTheStateThatTextLeaves) {
  for (CellType cell : testing::every_cell()) {
    const std::string text = structured_text(2000, 7);
    const Model model = small_model(text, cell, 2, 9);
    Generator generator(model, Device::cpu);
    const RecurrentState after_the = generator.state_after("the ", UnknownPolicy::error);
    ASSERT_EQ(after_the.batch, 1);
    ASSERT_EQ(after_the.h.size(), 2u * 48);
    EXPECT_EQ(after_the.c.size(), describe_cell(cell).has_cell_state ? 2u * 48 : 0u);
    // Read in two parts, the second from the first's state, the text leaves the same state (to
    // the products' rounding, which differs with their row count; a layer norm magnifies it).
    const RecurrentState after_th = generator.state_after("th", UnknownPolicy::error);
    const RecurrentState in_two = generator.state_after("e ", UnknownPolicy::error, &after_th);
    EXPECT_LT(testing::max_relative_error(in_two.h, after_the.h), 1e-5);
    EXPECT_LT(testing::max_relative_error(in_two.c, after_the.c), 1e-5);
    // And generation from it continues that text exactly.
    GenerateOptions options;
    options.length = 20;
    options.sampling.seed = 5;
    EXPECT_EQ(generator.generate("c", options, {}, &after_the), generator.generate("the c", options));
    const RecurrentState wrong_batch{2, {}, {}};
    EXPECT_THROW(generator.state_after("a", UnknownPolicy::error, &wrong_batch), Error);
    EXPECT_THROW(generator.state_after("", UnknownPolicy::error), Error);
  }
}

}  // namespace
}  // namespace genrnn
