// The CPU network against numbers from real PyTorch (tools/make_fixtures.py): logits, loss,
// final state and every gradient, for each cell, 1 and 2 layers, one-hot and embedded input,
// and the original lesson's model loaded unchanged.
#include <gtest/gtest.h>

#include "core/safetensors.hpp"
#include "cpu/network.hpp"
#include "genrnn/model.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

std::string fixture(const std::string& name) { return std::string(GENRNN_FIXTURES_DIR) + "/" + name; }

std::vector<int> as_ints(const SafeTensor& tensor) {
  const auto wide = tensor.to_i64();
  return std::vector<int>(wide.begin(), wide.end());
}

class PyTorchFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchFixture, ForwardLossStateAndGradientsMatch) {
  const Model model = Model::load(fixture(GetParam() + ".safetensors"));
  const SafetensorsFile expected = read_safetensors(fixture(GetParam() + ".expected.safetensors"));
  const auto& t = expected.tensors;
  const int batch = static_cast<int>(t.at("inputs").shape[0]);
  const int seq_len = static_cast<int>(t.at("inputs").shape[1]);
  const int vocab = model.config.vocab_size;

  cpu::CpuNetwork<float> network(model.config);
  network.parameters() = model.parameters;
  RecurrentState initial{batch, t.at("h0").to_f32(), {}};
  if (t.count("c0")) initial.c = t.at("c0").to_f32();
  network.set_state(initial);
  const auto inputs = as_ints(t.at("inputs"));
  const auto targets = as_ints(t.at("targets"));
  network.forward(inputs.data(), batch, seq_len);
  const double tokens = static_cast<double>(batch) * seq_len;
  const double loss = network.loss(targets.data()) / tokens;
  EXPECT_NEAR(loss, t.at("loss").to_f32()[0], 1e-5 * loss);

  std::vector<float> logits;  // PyTorch's [b][t][v]
  for (int b = 0; b < batch; ++b)
    for (int s = 0; s < seq_len; ++s)
      for (int v = 0; v < vocab; ++v) logits.push_back(network.logit(b, s, v));
  EXPECT_LT(testing::max_relative_error(logits, t.at("logits").to_f32()), 1e-5);

  const RecurrentState final_state = network.state();
  EXPECT_LT(testing::max_relative_error(final_state.h, t.at("hn").to_f32()), 1e-5);
  if (t.count("cn")) EXPECT_LT(testing::max_relative_error(final_state.c, t.at("cn").to_f32()), 1e-5);

  network.backward(targets.data(), static_cast<float>(1.0 / tokens));
  for (const auto& spec : parameter_layout(model.config)) {
    const auto begin = network.gradients().begin() + static_cast<std::ptrdiff_t>(spec.offset);
    const std::vector<float> gradient(begin, begin + static_cast<std::ptrdiff_t>(spec.numel()));
    EXPECT_LT(testing::max_relative_error(gradient, t.at("grad." + spec.name).to_f32()), 1e-4) << spec.name;
  }
}

// tools/make_fixtures.py's cases: every cell, 1 and 2 layers, one-hot and embedded; and the lesson.
std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (CellType cell : testing::every_cell())
    for (const char* shape : {"_l1_e0", "_l1_e5", "_l2_e0", "_l2_e5"}) names.push_back(to_string(cell) + shape);
  names.push_back("lesson");
  return names;
}

INSTANTIATE_TEST_SUITE_P(AllCells, PyTorchFixture, ::testing::ValuesIn(fixture_names()));

}  // namespace
}  // namespace genrnn
