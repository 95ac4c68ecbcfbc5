#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <tuple>

#include "core/atomic_file.hpp"
#include "core/safetensors.hpp"
#include "genrnn/error.hpp"
#include "genrnn/model.hpp"
#include "tests/support/scratch_folder.hpp"

namespace genrnn {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> char_vocab = {"\n", " ", "a", "b", "c", "é", "世"};

ModelConfig make_config(CellType cell, int embedding_dim) {
  ModelConfig config;
  config.cell = cell;
  config.num_layers = 2;
  config.hidden_size = 6;
  config.embedding_dim = embedding_dim;
  config.vocab_size = static_cast<int>(char_vocab.size());
  return config;
}

Model make_model(const ModelConfig& config, uint64_t seed = 1) {
  return Model::initialize(config, Tokenizer::from_vocab(config.tokenizer, char_vocab), seed);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> folder_entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_same_model(const Model& got, const Model& want) {
  EXPECT_EQ(config_to_json(got.config), config_to_json(want.config));
  EXPECT_EQ(got.tokenizer.kind(), want.tokenizer.kind());
  EXPECT_EQ(got.tokenizer.tokens(), want.tokenizer.tokens());
  ASSERT_EQ(got.parameters.size(), want.parameters.size());
  EXPECT_EQ(std::memcmp(got.parameters.data(), want.parameters.data(), got.parameters.size() * sizeof(float)), 0)
      << "weights are not bit-identical";
}

class CheckpointTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return scratch_.file(name); }

  // Saves a valid model's file after `edit` and expects Model::load to name the file and `problem`.
  template <typename Edit>
  void expect_load_rejects(Edit edit, const std::string& problem) {
    const auto file_path = path("edited.safetensors");
    make_model(make_config(CellType::lstm, 3)).save(file_path);
    auto file = read_safetensors(file_path);
    edit(file);
    write_safetensors(file_path, file);
    try {
      Model::load(file_path);
      ADD_FAILURE() << "loaded a file that should be rejected for: " << problem;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(file_path + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(problem), std::string::npos) << message;
    }
  }

  genrnn::testing::ScratchFolder scratch_;
};

class CheckpointRoundTripTest : public CheckpointTest,
                                public ::testing::WithParamInterface<std::tuple<CellType, int>> {};

TEST_P(CheckpointRoundTripTest, LoadsBitIdenticalWeightsConfigAndVocab) {
  const auto [cell, embedding_dim] = GetParam();
  const Model model = make_model(make_config(cell, embedding_dim), 42);
  model.save(path("model.safetensors"));
  const Model loaded = Model::load(path("model.safetensors"));
  expect_same_model(loaded, model);
  EXPECT_EQ(folder_entries(scratch_.path()), std::vector<std::string>{"model.safetensors"});
}

INSTANTIATE_TEST_SUITE_P(CellsAndEmbeddings, CheckpointRoundTripTest,
                         ::testing::Combine(::testing::Values(CellType::lstm, CellType::gru, CellType::rnn),
                                            ::testing::Values(0, 5)),
                         [](const auto& info) {
                           return to_string(std::get<0>(info.param)) + "_E" + std::to_string(std::get<1>(info.param));
                         });

TEST_F(CheckpointTest, WordLevelModelRoundTrips) {
  ModelConfig config = make_config(CellType::gru, 4);
  config.tokenizer = TokenizerKind::word;
  const std::vector<std::string> words = {"<unk>", "the", "cat", ",", "\n", "don't"};
  config.vocab_size = static_cast<int>(words.size());
  const Model model = Model::initialize(config, Tokenizer::from_vocab(TokenizerKind::word, words), 5);
  model.save(path("word.safetensors"));
  expect_same_model(Model::load(path("word.safetensors")), model);
}

TEST_F(CheckpointTest, FileHasPyTorchNamesShapesAndGenrnnMetadata) {
  const Model model = make_model(make_config(CellType::lstm, 5));
  model.save(path("model.safetensors"));
  const auto file = read_safetensors(path("model.safetensors"));

  EXPECT_EQ(file.metadata.at("genrnn.config"), config_to_json(model.config));
  EXPECT_EQ(nlohmann::json::parse(file.metadata.at("genrnn.vocab")).get<std::vector<std::string>>(), char_vocab);
  const auto layout = parameter_layout(model.config);
  ASSERT_EQ(file.tensors.size(), layout.size());
  for (const auto& spec : layout) {
    SCOPED_TRACE(spec.name);
    const auto& tensor = file.tensors.at(spec.name);
    EXPECT_EQ(tensor.dtype, DType::f32);
    EXPECT_EQ(tensor.shape, spec.shape);
    const auto values = tensor.to_f32();
    EXPECT_EQ(std::memcmp(values.data(), model.tensor(spec.name), values.size() * sizeof(float)), 0);
  }
  EXPECT_EQ(file.tensors.at("rnn.weight_ih_l0").shape, (std::vector<int64_t>{24, 5}));
  EXPECT_EQ(file.tensors.at("rnn.weight_hh_l1").shape, (std::vector<int64_t>{24, 6}));
  EXPECT_EQ(file.tensors.at("head.weight").shape, (std::vector<int64_t>{7, 6}));
}

TEST_F(CheckpointTest, ExtraMetadataIsIgnored) {
  const Model model = make_model(make_config(CellType::rnn, 0));
  model.save(path("model.safetensors"));
  auto file = read_safetensors(path("model.safetensors"));
  file.metadata["format"] = "pt";
  write_safetensors(path("model.safetensors"), file);
  expect_same_model(Model::load(path("model.safetensors")), model);
}

TEST_F(CheckpointTest, InitializeFollowsPyTorchDefaults) {
  ModelConfig config = make_config(CellType::lstm, 64);
  config.hidden_size = 16;
  const Model model = make_model(config, 9);
  ASSERT_EQ(model.parameters.size(), parameter_count(config));
  const float bound = 1.0f / std::sqrt(16.0f);
  const auto layout = parameter_layout(config);
  for (const auto& spec : layout) {
    if (spec.name == "embedding.weight") continue;
    SCOPED_TRACE(spec.name);
    const float* values = model.tensor(spec.name);
    float largest = 0;
    for (std::size_t i = 0; i < spec.numel(); ++i) largest = std::max(largest, std::abs(values[i]));
    EXPECT_LE(largest, bound);
    EXPECT_GT(largest, 0.5f * bound);
  }
  const std::size_t count = find_tensor(layout, "embedding.weight").numel();  // 448 draws of N(0, 1)
  const float* embedding = model.tensor("embedding.weight");
  double sum = 0, sum_squares = 0;
  for (std::size_t i = 0; i < count; ++i) {
    sum += embedding[i];
    sum_squares += double{embedding[i]} * embedding[i];
  }
  const double mean = sum / count;
  EXPECT_NEAR(mean, 0.0, 0.25);
  EXPECT_NEAR(sum_squares / count - mean * mean, 1.0, 0.25);

  EXPECT_EQ(make_model(config, 9).parameters, model.parameters);
  EXPECT_NE(make_model(config, 10).parameters, model.parameters);
}

TEST_F(CheckpointTest, InitializeRejectsABadConfigOrAMismatchedTokenizer) {
  ModelConfig config = make_config(CellType::gru, 0);
  config.vocab_size = 3;
  EXPECT_THROW(make_model(config), Error);
  config = make_config(CellType::gru, 0);
  config.hidden_size = 0;
  EXPECT_THROW(make_model(config), Error);
}

TEST_F(CheckpointTest, RejectsInconsistentFiles) {
  expect_load_rejects([](SafetensorsFile& f) { f.metadata.erase("genrnn.config"); }, "\"genrnn.config\"");
  expect_load_rejects([](SafetensorsFile& f) { f.metadata.erase("genrnn.vocab"); }, "\"genrnn.vocab\"");
  expect_load_rejects([](SafetensorsFile& f) { f.metadata["genrnn.config"] = "{\"cell\": \"lstm\""; },
                      "not valid JSON");
  expect_load_rejects([](SafetensorsFile& f) { f.metadata["genrnn.config"] = "[]"; }, "not a JSON object");
  expect_load_rejects(
      [](SafetensorsFile& f) {
        f.metadata["genrnn.vocab"] = nlohmann::json(std::vector<std::string>{"a", "b", "c"}).dump();
      },
      "genrnn.vocab has 3 tokens but the config says vocab_size 7");
  expect_load_rejects([](SafetensorsFile& f) { f.metadata["genrnn.vocab"] = "{\"a\": 1}"; }, "not a JSON array");
  expect_load_rejects([](SafetensorsFile& f) { f.metadata["genrnn.vocab"] = "[1, 2, 3, 4, 5, 6, 7]"; },
                      "genrnn.vocab entry 0 is not a string");
  expect_load_rejects([](SafetensorsFile& f) { f.tensors.erase("head.bias"); }, "missing tensor 'head.bias'");
  expect_load_rejects(
      [](SafetensorsFile& f) {
        const std::vector<float> values(24 * 6);
        f.tensors["rnn.weight_hh_l1"] = SafeTensor::from_f32({6, 24}, values.data());
      },
      "tensor 'rnn.weight_hh_l1' has shape [6,24]; the config needs [24,6]");
  expect_load_rejects(
      [](SafetensorsFile& f) {
        const std::vector<float> values(7);
        f.tensors["head.extra"] = SafeTensor::from_f32({7}, values.data());
      },
      "unexpected tensor 'head.extra'");
  expect_load_rejects(
      [](SafetensorsFile& f) {
        auto& bias = f.tensors["rnn.bias_ih_l0"];
        bias.dtype = DType::f64;
        bias.bytes.resize(bias.bytes.size() * 2);
      },
      "tensor 'rnn.bias_ih_l0' is not F32");
}

TEST_F(CheckpointTest, RejectsAVocabularyTheTokenizerRefuses) {
  expect_load_rejects(
      [](SafetensorsFile& f) {
        auto tokens = char_vocab;
        tokens[3] = tokens[2];
        f.metadata["genrnn.vocab"] = nlohmann::json(tokens).dump();
      },
      "twice");
  expect_load_rejects(
      [](SafetensorsFile& f) {
        auto tokens = char_vocab;
        tokens[3] = "ab";
        f.metadata["genrnn.vocab"] = nlohmann::json(tokens).dump();
      },
      "not exactly one character");
}

TEST_F(CheckpointTest, LoadReportsUnreadableFilesByName) {
  const auto missing = path("missing.safetensors");
  try {
    Model::load(missing);
    FAIL() << "loaded a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, SavingAgainKeepsTheCheckpointIntact) {
  const Model first = make_model(make_config(CellType::lstm, 0), 1);
  first.save(path("model.safetensors"));
  const auto bytes = read_bytes(path("model.safetensors"));
  first.save(path("model.safetensors"));
  EXPECT_EQ(read_bytes(path("model.safetensors")), bytes);

  const Model second = make_model(make_config(CellType::gru, 3), 2);
  second.save(path("model.safetensors"));
  expect_same_model(Model::load(path("model.safetensors")), second);
  EXPECT_EQ(folder_entries(scratch_.path()), std::vector<std::string>{"model.safetensors"});
}

TEST_F(CheckpointTest, SaveIntoAMissingFolderFailsCleanly) {
  const auto target = path("no/such/folder/model.safetensors");
  try {
    make_model(make_config(CellType::rnn, 0)).save(target);
    FAIL() << "saved into a folder that does not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(folder_entries(scratch_.path()).empty());
}

TEST_F(CheckpointTest, SaveIntoAReadOnlyFolderLeavesTheOldFile) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root, which ignores folder permissions";
  make_model(make_config(CellType::lstm, 0), 1).save(path("model.safetensors"));
  const auto bytes = read_bytes(path("model.safetensors"));
  fs::permissions(scratch_.path(), fs::perms::owner_write, fs::perm_options::remove);
  try {
    make_model(make_config(CellType::lstm, 0), 2).save(path("model.safetensors"));
    ADD_FAILURE() << "saved into a read-only folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Permission denied"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(path("model.safetensors")), bytes);
  EXPECT_EQ(folder_entries(scratch_.path()), std::vector<std::string>{"model.safetensors"});
}

TEST_F(CheckpointTest, SaveOverAFolderFailsAndLeavesNoTempFile) {
  fs::create_directory(path("model.safetensors"));
  EXPECT_THROW(make_model(make_config(CellType::gru, 0)).save(path("model.safetensors")), Error);
  EXPECT_TRUE(fs::is_directory(path("model.safetensors")));
  EXPECT_EQ(folder_entries(scratch_.path()), std::vector<std::string>{"model.safetensors"});
}

TEST_F(CheckpointTest, AFailingWriterLeavesTheOldFileAndNoTempFile) {
  make_model(make_config(CellType::lstm, 2), 1).save(path("model.safetensors"));
  const auto bytes = read_bytes(path("model.safetensors"));
  EXPECT_THROW(write_file_atomically(path("model.safetensors"),
                                     [](std::ostream& out) {
                                       out << "half a checkpoint";
                                       throw std::runtime_error("interrupted");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path("model.safetensors")), bytes);
  EXPECT_EQ(folder_entries(scratch_.path()), std::vector<std::string>{"model.safetensors"});
}

TEST_F(CheckpointTest, AtomicWriteReplacesTheWholeFile) {
  write_file_atomically(path("f"), [](std::ostream& out) { out << "a long first version"; });
  write_file_atomically(path("f"), [](std::ostream& out) { out << "short"; });
  EXPECT_EQ(read_bytes(path("f")), "short");
  EXPECT_EQ(folder_entries(scratch_.path()), std::vector<std::string>{"f"});
}

}  // namespace
}  // namespace genrnn
