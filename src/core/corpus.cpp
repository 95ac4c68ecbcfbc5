#include "core/corpus.hpp"

#include <algorithm>
#include <string>

#include "genrnn/error.hpp"

namespace genrnn {

namespace {

// Streams of `length` ids starting every `length` ids, read as windows of up to seq_len.
void fill_window(const std::vector<int>& ids, int batch, int64_t length, int64_t start, int seq_len, TokenWindow& out) {
  out.batch = batch;
  out.seq_len = seq_len;
  out.inputs.resize(static_cast<std::size_t>(batch) * seq_len);
  out.targets.resize(out.inputs.size());
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < seq_len; ++t) {
      const auto source = static_cast<std::size_t>(b * length + start + t);
      out.inputs[static_cast<std::size_t>(b) * seq_len + t] = ids[source];
      out.targets[static_cast<std::size_t>(b) * seq_len + t] = ids[source + 1];
    }
}

// The held-out ids as parallel streams (at most `batch`) read in windows of at most seq_len.
std::vector<TokenWindow> validation_layout(const std::vector<int>& validation, int batch, int seq_len) {
  std::vector<TokenWindow> windows;
  if (validation.size() < 2) return windows;
  const auto predicted = static_cast<int64_t>(validation.size()) - 1;
  const int streams = static_cast<int>(std::clamp<int64_t>(predicted / seq_len, 1, batch));
  const int64_t length = static_cast<int64_t>(validation.size()) / streams;
  for (int64_t start = 0; start < length - 1; start += seq_len) {
    const int window = static_cast<int>(std::min<int64_t>(seq_len, length - 1 - start));
    windows.emplace_back();
    fill_window(validation, streams, length, start, window, windows.back());
  }
  return windows;
}

}  // namespace

CorpusBatches::CorpusBatches(const std::vector<int>& ids, int batch, int seq_len, float val_frac)
    : batch_(batch), seq_len_(seq_len) {
  if (batch < 1 || seq_len < 1) throw Error("batch and seq_len must be at least 1");
  const auto total = static_cast<int64_t>(ids.size());
  const auto held_out = static_cast<int64_t>(static_cast<double>(total) * val_frac);
  if (val_frac > 0 && held_out < 2)
    throw Error("the text has " + std::to_string(total) +
                " tokens: too few to hold out a validation part (use --val-frac 0 or more text)");
  train_.assign(ids.begin(), ids.end() - held_out);
  validation_windows_ = validation_layout(std::vector<int>(ids.end() - held_out, ids.end()), batch, seq_len);
  stream_length_ = static_cast<int64_t>(train_.size()) / batch;
  windows_per_epoch_ = (stream_length_ - 1) / seq_len;
  if (windows_per_epoch_ < 1)
    throw Error("the training text has " + std::to_string(train_.size()) + " tokens; --batch " + std::to_string(batch) +
                " with --seq-len " + std::to_string(seq_len) + " needs at least " +
                std::to_string(int64_t{batch} * (seq_len + 1)));
}

void CorpusBatches::train_window(int64_t index, TokenWindow& out) const {
  fill_window(train_, batch_, stream_length_, index * seq_len_, seq_len_, out);
}

}  // namespace genrnn
