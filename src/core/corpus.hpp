#pragma once
#include <cstdint>
#include <vector>

namespace genrnn {

// `batch` streams of `seq_len` tokens, batch-first: element [b * seq_len + t].
// targets are the inputs shifted by one token.
struct TokenWindow {
  int batch = 0;
  int seq_len = 0;
  std::vector<int> inputs;
  std::vector<int> targets;
};

// The corpus as char-rnn lays it out: the last val_frac of the ids is held out; the rest is cut
// into `batch` equal streams read in consecutive windows of `seq_len`, so the state at the end
// of one window is the right start for the next.
class CorpusBatches {
 public:
  // Throws Error when the text is too short for the batch and window asked for.
  CorpusBatches(const std::vector<int>& ids, int batch, int seq_len, float val_frac);

  int64_t windows_per_epoch() const { return windows_per_epoch_; }
  int64_t train_tokens() const { return static_cast<int64_t>(train_.size()); }
  // Window `index` (0 .. windows_per_epoch - 1) of every stream.
  void train_window(int64_t index, TokenWindow& out) const;

  bool has_validation() const { return !validation_windows_.empty(); }
  // The validation tail as parallel streams (at most `batch`) in windows of at most seq_len.
  const std::vector<TokenWindow>& validation_windows() const { return validation_windows_; }

 private:
  std::vector<int> train_;
  std::vector<TokenWindow> validation_windows_;
  int batch_;
  int seq_len_;
  int64_t stream_length_;
  int64_t windows_per_epoch_;
};

}  // namespace genrnn
