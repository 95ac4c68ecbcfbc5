#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "core/corpus_batches.hpp"
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
  TokenWindow window;
  for (int64_t index = 0; index < data.validation_windows(); ++index) {
    data.validation_window(index, window);
    for (std::size_t k = 0; k < window.inputs.size(); ++k) {
      EXPECT_GE(window.inputs[k], 90);
      EXPECT_EQ(window.targets[k], window.inputs[k] + 1);
      ++predicted;
    }
  }
  EXPECT_GE(predicted, 6);  // most of the 9 predictable tokens of the tail
}

TEST(Corpus, NoValidationWhenFractionIsZero) {
  const CorpusBatches data(counting(50), 2, 5, 0.0f);
  EXPECT_FALSE(data.has_validation());
  EXPECT_EQ(data.validation_windows(), 0);
}

// Each process of a data-parallel run reads its equal share of the streams, and the shares
// together are the whole batch's windows, in training and in validation.
TEST(Corpus, RanksReadTheirShareOfTheStreams) {
  const std::vector<int> ids = counting(1000);
  const CorpusBatches whole(ids, 6, 5, 0.2f);
  for (int ranks : {2, 3}) {
    std::vector<CorpusBatches> shares;
    for (int rank = 0; rank < ranks; ++rank) shares.emplace_back(ids, 6, 5, 0.2f, rank, ranks);
    for (int64_t index : {int64_t{0}, whole.windows_per_epoch() - 1}) {
      TokenWindow all, part;
      whole.train_window(index, all);
      std::vector<int> joined;
      for (const auto& share : shares) {
        EXPECT_EQ(share.windows_per_epoch(), whole.windows_per_epoch());
        share.train_window(index, part);
        EXPECT_EQ(part.batch, 6 / ranks);
        joined.insert(joined.end(), part.inputs.begin(), part.inputs.end());
      }
      EXPECT_EQ(joined, all.inputs) << ranks << " ranks, window " << index;
    }
    int validation_streams = 0;
    for (const auto& share : shares) validation_streams += share.validation_streams().count;
    EXPECT_EQ(validation_streams, whole.validation_streams().count);
  }
}

TEST(Corpus, StreamSlicesCoverTheBatchOnce) {
  for (int total : {1, 5, 6, 7})
    for (int ranks : {1, 2, 3, 8}) {
      int next = 0;
      for (int rank = 0; rank < ranks; ++rank) {
        const StreamSlice slice = StreamSlice::of_rank(total, rank, ranks);
        EXPECT_EQ(slice.first, next);
        EXPECT_GE(slice.count, total / ranks);
        EXPECT_LE(slice.count, total / ranks + 1);
        next += slice.count;
      }
      EXPECT_EQ(next, total);
    }
}

// A token file's pages are given back as the streams move past them (memory would otherwise
// grow to the corpus's size), and never ahead of what a stream reads next.
TEST(Corpus, ReadersGiveBackOnlyWhatTheyHaveRead) {
  auto ids = std::make_shared<std::vector<int>>(counting(100000));
  std::vector<std::pair<int64_t, int64_t>> released;  // ids [first, first + count)
  Corpus::FileIds file{"c.tokens",
                       ids,
                       ids->data(),
                       4,
                       static_cast<int64_t>(ids->size()),
                       nullptr,
                       [&](uint64_t offset, uint64_t bytes) {
                         released.emplace_back(static_cast<int64_t>(offset / 4), static_cast<int64_t>(bytes / 4));
                       }};
  const CorpusBatches data{Corpus(file), 4, 10, 0.1f};
  const int64_t stream_length = 90000 / 4;
  TokenWindow window;
  std::vector<int64_t> given_back(4, 0);  // of each stream: its first ids, given back so far
  for (int64_t index = 0; index < 200; ++index) {
    data.train_window(index, window);
    for (const auto& [first, count] : released) {
      const int64_t stream = first / stream_length, start = stream * stream_length;
      EXPECT_EQ(first, start + given_back[stream]);        // where the last release ended
      EXPECT_LE(first + count, start + (index + 1) * 10);  // no further than what was read
      given_back[stream] = first + count - start;
    }
    released.clear();
  }
  EXPECT_EQ(given_back, std::vector<int64_t>(4, 192 * 10));  // after windows 64, 128 and 192
  for (int64_t index = 0; index < data.validation_windows(); ++index) data.validation_window(index, window);
  std::vector<bool> validation_given_back(10000, false);
  for (const auto& [first, count] : released) {
    ASSERT_GE(first, 90000);  // the validation tail's streams only
    for (int64_t id = first; id < first + count; ++id) validation_given_back[id - 90000] = true;
  }
  EXPECT_EQ(std::count(validation_given_back.begin(), validation_given_back.end(), false), 0);  // all of it
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
