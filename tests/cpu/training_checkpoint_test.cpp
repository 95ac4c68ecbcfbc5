// The ".optim" file beside a checkpoint (what --resume continues from): written and read back,
// and every malformed variant refused with the file's name and the problem.
#include "api/training_checkpoint.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>

#include "core/safetensors.hpp"
#include "genrnn/error.hpp"
#include "tests/support/scratch_folder.hpp"

namespace genrnn {
namespace {

const std::string fixture = GENRNN_FIXTURES_DIR "/lstm_l1_e5.safetensors";
const std::string seeds = GENRNN_SOURCE_DIR "/tests/fuzz/seeds/training_checkpoint/";

TrainingCheckpoint example(const Model& model) {
  const std::size_t state = std::size_t(model.config.num_layers) * 3 * model.config.hidden_size;
  const std::vector<float> moments(model.parameters.size(), 0.25f);
  return {41,
          std::numeric_limits<uint64_t>::max() - 5,
          3,
          8,
          {40, moments, moments},
          {3, std::vector<float>(state, 0.5f), std::vector<float>(state, -0.5f)}};
}

TEST(TrainingCheckpoint, ReadsBackWhatWasWrittenEvenASeedPast63Bits) {
  const Model model = Model::load(fixture);
  const testing::ScratchFolder scratch;
  const TrainingCheckpoint written = example(model);
  write_training_checkpoint(scratch.file("m.optim"), written, model);
  const TrainingCheckpoint read = read_training_checkpoint(scratch.file("m.optim"), model);
  EXPECT_EQ(read.step, written.step);
  EXPECT_EQ(read.seed, written.seed);
  EXPECT_EQ(read.batch, written.batch);
  EXPECT_EQ(read.seq_len, written.seq_len);
  EXPECT_EQ(read.optimizer.step, written.optimizer.step);
  EXPECT_EQ(read.optimizer.m, written.optimizer.m);
  EXPECT_EQ(read.optimizer.v, written.optimizer.v);
  EXPECT_EQ(read.state.batch, 3);
  EXPECT_EQ(read.state.h, written.state.h);
  EXPECT_EQ(read.state.c, written.state.c);
}

// The fuzzer starts from these: they must get past every check.
TEST(TrainingCheckpoint, TheFuzzSeedsAreValid) {
  const Model model = Model::load(fixture);
  const TrainingCheckpoint adam = read_training_checkpoint(seeds + "lstm_l1_e5_adam.optim", model);
  EXPECT_EQ(adam.optimizer.m.size(), model.parameters.size());
  const TrainingCheckpoint sgd = read_training_checkpoint(seeds + "lstm_l1_e5_sgd.optim", model);
  EXPECT_TRUE(sgd.optimizer.m.empty());
  EXPECT_EQ(sgd.state.h.size(), 2u * model.config.hidden_size);
}

TEST(TrainingCheckpoint, RefusesEveryMalformedFileNamingIt) {
  const Model model = Model::load(fixture);
  const testing::ScratchFolder scratch;
  const std::string good = scratch.file("good.optim");
  write_training_checkpoint(good, example(model), model);
  const SafetensorsFile original = read_safetensors(good);
  const struct {
    const char* says;
    std::function<void(SafetensorsFile&)> damage;
  } cases[] = {
      {"does not belong to the weights", [](SafetensorsFile& f) { f.metadata["genrnn.parameters"] = "12"; }},
      {"lacks \"genrnn.parameters\"", [](SafetensorsFile& f) { f.metadata.erase("genrnn.parameters"); }},
      {"\"genrnn.step\"", [](SafetensorsFile& f) { f.metadata["genrnn.step"] = "12abc"; }},
      {"\"genrnn.step\"", [](SafetensorsFile& f) { f.metadata["genrnn.step"] = "-1"; }},
      {"\"genrnn.batch\"", [](SafetensorsFile& f) { f.metadata["genrnn.batch"] = "0"; }},
      {"\"genrnn.seq_len\"", [](SafetensorsFile& f) { f.metadata["genrnn.seq_len"] = "99999999999"; }},
      {"\"genrnn.seed\"", [](SafetensorsFile& f) { f.metadata["genrnn.seed"] = "18446744073709551616"; }},
      {"\"genrnn.optimizer_step\"", [](SafetensorsFile& f) { f.metadata["genrnn.optimizer_step"] = " 4"; }},
      {"lacks tensor 'state.h'", [](SafetensorsFile& f) { f.tensors.erase("state.h"); }},
      {"lacks tensor 'state.c'", [](SafetensorsFile& f) { f.tensors.erase("state.c"); }},
      {"'state.h' is not F32 of shape", [](SafetensorsFile& f) { f.metadata["genrnn.batch"] = "2"; }},
      {"lacks tensor 'adam.v'", [](SafetensorsFile& f) { f.tensors.erase("adam.v"); }},
      {"'adam.m' is not F32",
       [](SafetensorsFile& f) {
         std::vector<int64_t> one{1};
         f.tensors["adam.m"] = SafeTensor::from_i64({1}, one.data());
       }},
      {"unexpected tensor 'extra'", [](SafetensorsFile& f) { f.tensors["extra"] = f.tensors.at("state.h"); }},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.says);
    SafetensorsFile damaged = original;
    bad.damage(damaged);
    const std::string path = scratch.file("bad.optim");
    write_safetensors(path, damaged);
    try {
      read_training_checkpoint(path, model);
      ADD_FAILURE() << "accepted a malformed file";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(bad.says), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace genrnn
