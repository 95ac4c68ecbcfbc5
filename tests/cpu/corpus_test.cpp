#include <gtest/gtest.h>

#include <numeric>

#include "core/corpus.hpp"
#include "genrnn/error.hpp"

namespace genrnn {
namespace {

std::vector<int> counting(int n) {
  std::vector<int> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

TEST(Corpus, StreamsAreContiguousAndWindowsFollowEachOther) {
  // 100 ids, 10 held out: 90 for training, 3 streams of 30, windows of 4: (30 - 1) / 4 = 7.
  const CorpusBatches data(counting(100), 3, 4, 0.1f);
  EXPECT_EQ(data.windows_per_epoch(), 7);
  TokenWindow first, second;
  data.train_window(0, first);
  data.train_window(1, second);
  EXPECT_EQ(first.inputs, (std::vector<int>{0, 1, 2, 3, 30, 31, 32, 33, 60, 61, 62, 63}));
  EXPECT_EQ(first.targets, (std::vector<int>{1, 2, 3, 4, 31, 32, 33, 34, 61, 62, 63, 64}));
  EXPECT_EQ(second.inputs[0], 4);  // the next window continues each stream
  EXPECT_EQ(second.inputs[4], 34);
}

TEST(Corpus, ValidationCoversTheHeldOutTailOnly) {
  const CorpusBatches data(counting(100), 3, 4, 0.1f);
  ASSERT_TRUE(data.has_validation());
  int predicted = 0;
  for (const auto& window : data.validation_windows())
    for (std::size_t k = 0; k < window.inputs.size(); ++k) {
      EXPECT_GE(window.inputs[k], 90);
      EXPECT_EQ(window.targets[k], window.inputs[k] + 1);
      ++predicted;
    }
  EXPECT_GE(predicted, 6);  // most of the 9 predictable tokens of the tail
}

TEST(Corpus, NoValidationWhenFractionIsZero) {
  const CorpusBatches data(counting(50), 2, 5, 0.0f);
  EXPECT_FALSE(data.has_validation());
  EXPECT_TRUE(data.validation_windows().empty());
}

TEST(Corpus, TooShortTextIsAClearError) {
  try {
    CorpusBatches(counting(20), 4, 10, 0.0f);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs at least 44"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CorpusBatches(counting(10), 1, 2, 0.1f), Error);  // one held-out token is too few
}

}  // namespace
}  // namespace genrnn
