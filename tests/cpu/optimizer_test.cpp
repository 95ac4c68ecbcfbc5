#include <gtest/gtest.h>

#include <cmath>

#include "cpu/optimizer.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

TEST(Optimizer, AdamFirstStepsMatchPyTorchsFormula) {
  std::vector<float> params{1.0f, -2.0f};
  const std::vector<float> grads{0.5f, -0.25f};
  OptimizerState state;
  TrainStepOptions options;
  options.learning_rate = 0.1f;
  cpu::apply_optimizer(params, grads, state, options);
  // Step 1: m_hat = g and v_hat = g^2, so each parameter moves by lr * sign(g).
  EXPECT_NEAR(params[0], 0.9f, 1e-6);
  EXPECT_NEAR(params[1], -1.9f, 1e-6);
  cpu::apply_optimizer(params, grads, state, options);
  EXPECT_EQ(state.step, 2);
  // A constant gradient keeps m_hat = g, v_hat = g^2: the same move again.
  EXPECT_NEAR(params[0], 0.8f, 1e-6);
  EXPECT_NEAR(params[1], -1.8f, 1e-6);
}

TEST(Optimizer, SgdStepsAgainstTheGradient) {
  std::vector<float> params{1.0f, 2.0f};
  OptimizerState state;
  TrainStepOptions options;
  options.optimizer = Optimizer::sgd;
  options.learning_rate = 0.5f;
  cpu::apply_optimizer(params, {0.2f, -0.4f}, state, options);
  EXPECT_FLOAT_EQ(params[0], 0.9f);
  EXPECT_FLOAT_EQ(params[1], 2.2f);
  EXPECT_TRUE(state.m.empty());
}

TEST(Optimizer, ClippingBoundsTheGlobalNormAndKeepsDirection) {
  auto grads = testing::random_uniform<float>(1000, -1, 1);
  const auto original = grads;
  const double norm = cpu::global_norm(grads);
  cpu::clip_gradients(grads, 2.0f);
  EXPECT_NEAR(cpu::global_norm(grads), 2.0, 1e-4);
  for (std::size_t i = 0; i < grads.size(); ++i) EXPECT_NEAR(grads[i], original[i] * 2.0 / norm, 1e-5);
  auto small = original;
  cpu::clip_gradients(small, static_cast<float>(norm * 2));
  EXPECT_EQ(small, original);
  cpu::clip_gradients(small, 0.0f);  // 0: off
  EXPECT_EQ(small, original);
}

}  // namespace
}  // namespace genrnn
