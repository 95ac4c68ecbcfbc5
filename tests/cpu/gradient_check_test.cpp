// Backpropagation through time against central finite differences, in float64, on fresh random
// weights, states and tokens each run (dropout included: its masks are fixed by seed and step).
#include <gtest/gtest.h>

#include "cpu/network.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

struct GradientCase {
  CellType cell;
  int layers;
  int embedding;
  float dropout;
};

class GradientCheck : public ::testing::TestWithParam<GradientCase> {};

TEST_P(GradientCheck, BackwardMatchesFiniteDifferences) {
  const auto c = GetParam();
  const ModelConfig config{c.cell, c.layers, 5, c.embedding, 7, TokenizerKind::character};
  const int batch = 2, seq_len = 4;
  cpu::CpuNetwork<double> network(config);
  network.parameters() = testing::random_uniform<double>(network.parameters().size(), -0.6, 0.6);
  const std::size_t state_size = static_cast<std::size_t>(c.layers) * batch * 5;
  const RecurrentState initial{batch, testing::random_uniform<float>(state_size, -0.5f, 0.5f),
                               describe_cell(c.cell).has_cell_state
                                   ? testing::random_uniform<float>(state_size, -0.5f, 0.5f)
                                   : std::vector<float>{}};
  const auto inputs = testing::random_ids(batch * seq_len, 7);
  const auto targets = testing::random_ids(batch * seq_len, 7);
  const math::DropoutMask dropout{c.dropout, 1234, 5};

  auto loss_at = [&](const std::vector<double>& parameters) {
    network.parameters() = parameters;
    network.set_state(initial);
    network.forward(inputs.data(), batch, seq_len, dropout);
    return network.loss(targets.data());
  };
  const std::vector<double> base = network.parameters();
  loss_at(base);
  network.backward(targets.data(), 1.0);
  const std::vector<double> analytic = network.gradients();

  std::vector<double> numeric(base.size());
  const double h = 1e-6;
  for (std::size_t i = 0; i < base.size(); ++i) {
    auto shifted = base;
    shifted[i] = base[i] + h;
    const double up = loss_at(shifted);
    shifted[i] = base[i] - h;
    numeric[i] = (up - loss_at(shifted)) / (2 * h);
  }
  EXPECT_LT(testing::max_relative_error(analytic, numeric), 1e-6);
}

// Every cell, one layer and two with dropout; one-hot and embedded input take turns.
std::vector<GradientCase> every_cells_cases() {
  std::vector<GradientCase> cases;
  for (CellType cell : testing::every_cell()) {
    const bool odd = static_cast<int>(cell) % 2 == 1;
    cases.push_back({cell, 1, odd ? 3 : 0, 0});
    cases.push_back({cell, 2, odd ? 0 : 3, 0.3f});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cells, GradientCheck, ::testing::ValuesIn(every_cells_cases()));

}  // namespace
}  // namespace genrnn
