#include <gtest/gtest.h>

#include "genrnn/config.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"

namespace genrnn {
namespace {

TEST(Config, JsonRoundTripKeepsEveryField) {
  ModelConfig config{CellType::gru, 3, 48, 16, 77, TokenizerKind::word};
  const auto back = config_from_json(config_to_json(config));
  EXPECT_EQ(back.cell, config.cell);
  EXPECT_EQ(back.num_layers, 3);
  EXPECT_EQ(back.hidden_size, 48);
  EXPECT_EQ(back.embedding_dim, 16);
  EXPECT_EQ(back.vocab_size, 77);
  EXPECT_EQ(back.tokenizer, TokenizerKind::word);
  EXPECT_EQ(config_to_json(config),
            R"({"cell":"gru","num_layers":3,"hidden_size":48,"embedding_dim":16,"vocab_size":77,"tokenizer":"word"})");
}

TEST(Config, RejectsBadJsonWithTheFieldNamed) {
  auto message = [](const std::string& json) {
    try {
      config_from_json(json);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(message(R"({"cell":"lstm","tokenizer":"char"})").find("lacks \"num_layers\""), std::string::npos);
  EXPECT_NE(
      message(R"({"cell":"tree","num_layers":1,"hidden_size":4,"embedding_dim":0,"vocab_size":5,"tokenizer":"char"})")
          .find("tree"),
      std::string::npos);
  EXPECT_NE(
      message(R"({"cell":"lstm","num_layers":0,"hidden_size":4,"embedding_dim":0,"vocab_size":5,"tokenizer":"char"})")
          .find("num_layers"),
      std::string::npos);
  EXPECT_NE(
      message(R"({"cell":"lstm","num_layers":1,"hidden_size":"4","embedding_dim":0,"vocab_size":5,"tokenizer":"char"})")
          .find("hidden_size"),
      std::string::npos);
}

TEST(Parameters, LayoutFollowsPyTorchNamesAndShapes) {
  const ModelConfig lesson{CellType::lstm, 1, 64, 0, 59, TokenizerKind::character};
  const auto layout = parameter_layout(lesson);
  ASSERT_EQ(layout.size(), 6u);
  EXPECT_EQ(layout[0].name, "rnn.weight_ih_l0");
  EXPECT_EQ(layout[0].shape, (std::vector<int64_t>{256, 59}));
  EXPECT_EQ(layout[4].name, "head.weight");
  EXPECT_EQ(layout[4].shape, (std::vector<int64_t>{59, 64}));
  // nn.LSTM(59, 64) + nn.Linear(64, 59), counted from their shapes.
  EXPECT_EQ(parameter_count(lesson), 256u * 59 + 256 * 64 + 256 + 256 + 59 * 64 + 59);

  const ModelConfig deep{CellType::gru, 2, 8, 5, 11, TokenizerKind::character};
  const auto d = parameter_layout(deep);
  EXPECT_EQ(d[0].name, "embedding.weight");
  EXPECT_EQ(find_tensor(d, "rnn.weight_ih_l1").shape, (std::vector<int64_t>{24, 8}));
  for (std::size_t k = 1; k < d.size(); ++k) EXPECT_EQ(d[k].offset, d[k - 1].offset + d[k - 1].numel());
  EXPECT_THROW(find_tensor(d, "rnn.weight_ih_l2"), Error);
}

}  // namespace
}  // namespace genrnn
