#include "core/corpus_batches.hpp"

#include <algorithm>
#include <string>

#include "genrnn/error.hpp"

namespace genrnn {

StreamSlice StreamSlice::of_rank(int total, int rank, int ranks) {
  const auto bound = [&](int r) { return static_cast<int>(int64_t{total} * r / ranks); };
  return {bound(rank), bound(rank + 1) - bound(rank), total};
}

namespace {

// The streams of `slice`, each `length` ids long, stream s starting at begin + s * length, read
// from `start` for seq_len tokens.
void fill_window(const Corpus& ids, int64_t begin, const StreamSlice& slice, int64_t length, int64_t start, int seq_len,
                 TokenWindow& out) {
  out.batch = slice.count;
  out.seq_len = seq_len;
  out.inputs.resize(static_cast<std::size_t>(slice.count) * seq_len);
  out.targets.resize(out.inputs.size());
  for (int b = 0; b < slice.count; ++b) {
    const int64_t stream = begin + (slice.first + b) * length + start;
    int previous = ids[stream];
    for (int t = 0; t < seq_len; ++t) {
      const int next = ids[stream + t + 1];
      out.inputs[static_cast<std::size_t>(b) * seq_len + t] = previous;
      out.targets[static_cast<std::size_t>(b) * seq_len + t] = next;
      previous = next;
    }
  }
}

// Every this many windows (and after the last), a reader gives back the ids its streams have
// read since it last did: a token file's pages would otherwise stay mapped, and the process's
// memory grow to the corpus's size.
constexpr int64_t release_every = 64;

// After window `index` (of `windows`, each `seq_len` ids of each stream of `slice`, the streams
// `length` ids apart from `begin`): the windows read since the last release, if it is time.
void release_read(const Corpus& ids, int64_t begin, const StreamSlice& slice, int64_t length, int seq_len,
                  int64_t index, int64_t windows) {
  if ((index + 1) % release_every != 0 && index + 1 != windows) return;
  const int64_t from = (index - index % release_every) * seq_len, to = std::min(length, (index + 1) * seq_len);
  for (int b = 0; b < slice.count; ++b) ids.release(begin + (slice.first + b) * length + from, to - from);
}

}  // namespace

CorpusBatches::CorpusBatches(Corpus ids, int batch, int seq_len, float val_frac, int rank, int ranks)
    : ids_(std::move(ids)), seq_len_(seq_len) {
  if (batch < 1 || seq_len < 1) throw Error("batch and seq_len must be at least 1");
  const int64_t total = ids_.size();
  const auto held_out = static_cast<int64_t>(static_cast<double>(total) * val_frac);
  if (val_frac > 0 && held_out < 2)
    throw Error("the text has " + std::to_string(total) +
                " tokens: too few to hold out a validation part (use --val-frac 0 or more text)");
  train_size_ = total - held_out;
  train_slice_ = StreamSlice::of_rank(batch, rank, ranks);
  stream_length_ = train_size_ / batch;
  windows_per_epoch_ = (stream_length_ - 1) / seq_len;
  if (windows_per_epoch_ < 1)
    throw Error("the training text has " + std::to_string(train_size_) + " tokens; --batch " + std::to_string(batch) +
                " with --seq-len " + std::to_string(seq_len) + " needs at least " +
                std::to_string(int64_t{batch} * (seq_len + 1)));
  if (held_out < 2) return;
  // The held-out ids as parallel streams (at most `batch`), in windows of at most seq_len.
  const int64_t predicted = held_out - 1;
  const int streams = static_cast<int>(std::clamp<int64_t>(predicted / seq_len, 1, batch));
  validation_slice_ = StreamSlice::of_rank(streams, rank, ranks);
  validation_length_ = held_out / streams;
  validation_windows_ = (validation_length_ - 1 + seq_len - 1) / seq_len;
}

void CorpusBatches::train_window(int64_t index, TokenWindow& out) const {
  fill_window(ids_, 0, train_slice_, stream_length_, index * seq_len_, seq_len_, out);
  release_read(ids_, 0, train_slice_, stream_length_, seq_len_, index, windows_per_epoch_);
}

void CorpusBatches::validation_window(int64_t index, TokenWindow& out) const {
  const int64_t start = index * seq_len_;
  const int window = static_cast<int>(std::min<int64_t>(seq_len_, validation_length_ - 1 - start));
  fill_window(ids_, train_size_, validation_slice_, validation_length_, start, window, out);
  release_read(ids_, train_size_, validation_slice_, validation_length_, seq_len_, index, validation_windows_);
}

}  // namespace genrnn
