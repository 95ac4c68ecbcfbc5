#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cell_math.cuh"
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

}  // namespace
}  // namespace genrnn::math
