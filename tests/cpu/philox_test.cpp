#include <gtest/gtest.h>

#include "kernels/philox.cuh"

namespace genrnn::math {
namespace {

// Random123's known-answer vectors (tests/kat_vectors, "philox4x32 10"): counter, key, result.
TEST(Philox, MatchesRandom123KnownAnswers) {
  struct Case {
    Philox4x32 counter;
    uint32_t key0, key1;
    Philox4x32 expected;
  };
  const Case cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       0xffffffff,
       0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0xa4093822,
       0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const auto& c : cases) {
    const auto out = philox4x32_10(c.counter, c.key0, c.key1);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(out.v[k], c.expected.v[k]) << "word " << k;
  }
}

TEST(Philox, DrawsDependOnSeedStreamAndStep) {
  const auto base = philox_draw(7, 3, 11).v[0];
  EXPECT_EQ(base, philox_draw(7, 3, 11).v[0]);
  EXPECT_NE(base, philox_draw(8, 3, 11).v[0]);
  EXPECT_NE(base, philox_draw(7, 4, 11).v[0]);
  EXPECT_NE(base, philox_draw(7, 3, 12).v[0]);
  EXPECT_NE(base, philox_draw(7, 3, 11 + (uint64_t{1} << 32)).v[0]);  // high word of step counts
}

TEST(Philox, UniformIsInUnitIntervalAndCoversIt) {
  EXPECT_EQ(uniform_from_bits(0), 0.0f);
  EXPECT_LT(uniform_from_bits(0xffffffffu), 1.0f);
  double sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const float u = uniform_from_bits(philox_draw(1, 0, i).v[0]);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);  // ~5 standard deviations
}

}  // namespace
}  // namespace genrnn::math
