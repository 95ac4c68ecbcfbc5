#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "cpu/cell_loops.hpp"
#include "genrnn/version.hpp"
#include "kernels/cells/cell_list.cuh"
#include "tests/support/numeric.hpp"

namespace genrnn::math {
namespace {

TEST(CellMath, FloatTanhStaysWithinAFewUlpOfTheTrueValue) {
  // Every range the cells meet: tiny, around the series' edge, moderate, saturated.
  for (const auto& [lo, hi] : {std::pair{-1e-3f, 1e-3f}, {-0.1f, 0.1f}, {-3.0f, 3.0f}, {-40.0f, 40.0f}}) {
    for (float x : testing::random_uniform<float>(200000, lo, hi)) {
      const double exact = std::tanh(static_cast<double>(x));
      ASSERT_LE(std::abs(tanh_of(x) - exact), 4e-7 * std::abs(exact) + 1e-30) << "x = " << x;
    }
  }
  EXPECT_EQ(tanh_of(0.0f), 0.0f);
  EXPECT_EQ(tanh_of(100.0f), 1.0f);
  EXPECT_EQ(tanh_of(-100.0f), -1.0f);
  EXPECT_TRUE(std::isnan(tanh_of(NAN)));
}

TEST(CellMath, HostExpStaysWithinTwoUlpWhereExpIsANormalFloat) {
  for (const auto& [lo, hi] : {std::pair{-1.0f, 1.0f}, {-20.0f, 20.0f}, {-87.0f, 88.0f}}) {
    for (float x : testing::random_uniform<float>(200000, lo, hi)) {
      const double exact = std::exp(static_cast<double>(x));
      ASSERT_LE(std::abs(host_expf(x) - exact), 1.2e-7 * exact) << "x = " << x;
    }
  }
  EXPECT_EQ(host_expf(0.0f), 1.0f);
  // Past the normal range it saturates at exp(88) and exp(-87) rather than overflowing.
  EXPECT_FLOAT_EQ(host_expf(1000.0f), std::exp(88.0f));
  EXPECT_FLOAT_EQ(host_expf(-1000.0f), std::exp(-87.0f));
  EXPECT_TRUE(std::isnan(host_expf(NAN)));
  EXPECT_FLOAT_EQ(sigmoid(-1000.0f) + 1.0f, 1.0f);
  EXPECT_EQ(sigmoid(1000.0f), 1.0f);
}

TEST(CellLoops, TheBuildAskedForRuns) {
  const char* asked = std::getenv("GENRNN_CPU_LOOPS");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const std::string expected = (asked && std::string(asked) == "baseline") || !avx2 ? "baseline" : "avx2+fma";
  EXPECT_EQ(cpu::cell_loops_build(), expected);
  EXPECT_EQ(build_info().cpu_cell_loops, expected);
}

}  // namespace
}  // namespace genrnn::math
