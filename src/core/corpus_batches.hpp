#pragma once
#include <cstdint>
#include <vector>

#include "genrnn/corpus.hpp"

namespace genrnn {

// `batch` streams of `seq_len` tokens, batch-first: element [b * seq_len + t].
// targets are the inputs shifted by one token.
struct TokenWindow {
  int batch = 0;
  int seq_len = 0;
  std::vector<int> inputs;
  std::vector<int> targets;
};

// The streams [first, first + count) of `total`: one process's share of a data-parallel batch.
struct StreamSlice {
  int first = 0;
  int count = 0;
  int total = 0;
  // Rank `rank`'s share of `total` streams split among `ranks` as evenly as they go (equal
  // shares when ranks divide total; none when there are more ranks than streams).
  static StreamSlice of_rank(int total, int rank, int ranks);
};

// The corpus as char-rnn lays it out: the last val_frac of the ids is held out; the rest is cut
// into `batch` equal streams read in consecutive windows of `seq_len`, so the state at the end
// of one window is the right start for the next. The windows hold the streams of `slice` only
// (all of them by default), and are read from the corpus when asked for: memory does not grow
// with the corpus.
class CorpusBatches {
 public:
  // Throws Error when the text is too short for the batch and window asked for.
  CorpusBatches(Corpus ids, int batch, int seq_len, float val_frac, int rank = 0, int ranks = 1);

  int64_t windows_per_epoch() const { return windows_per_epoch_; }
  int64_t train_tokens() const { return train_size_; }
  // This rank's streams of window `index` (0 .. windows_per_epoch - 1).
  void train_window(int64_t index, TokenWindow& out) const;
  const StreamSlice& train_streams() const { return train_slice_; }

  // The validation tail as parallel streams (at most `batch`) in windows of at most seq_len;
  // this rank reads its share of the streams, which may be none.
  bool has_validation() const { return validation_windows_ > 0; }
  int64_t validation_windows() const { return validation_windows_; }
  void validation_window(int64_t index, TokenWindow& out) const;
  const StreamSlice& validation_streams() const { return validation_slice_; }

 private:
  Corpus ids_;
  int64_t train_size_ = 0;
  int seq_len_;
  StreamSlice train_slice_;
  int64_t stream_length_ = 0;
  int64_t windows_per_epoch_ = 0;
  StreamSlice validation_slice_;
  int64_t validation_length_ = 0;
  int64_t validation_windows_ = 0;
};

}  // namespace genrnn
