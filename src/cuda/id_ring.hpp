#pragma once
// Drawn ids on their way to the host in chunks of positions: two chunk slots on the device and
// two in pinned memory, so the device fills one while the host reads the other. Its memory is
// 2 x chunk x streams ids on each side, whatever the generated length.
#include <array>

#include "cuda/device_buffer.hpp"
#include "engine/engine.hpp"

namespace genrnn::cuda {

class IdRing {
 public:
  static constexpr int kChunkPositions = 16;

  explicit IdRing(cudaStream_t stream) : stream_(stream), device_(stream) {}

  // Empties the ring for `streams` streams, the next position being 0.
  void start(int streams);
  // Queues the copy of one position's ids (device, `streams` of them) into the chunk being
  // filled. Returns true when that completes the chunk.
  bool append(const int* ids);
  // Where the device writes the next `positions` rows of the chunk being filled itself (at
  // most what is left of it), counted as filled.
  int* fill(int positions);
  // Queues the copy of the chunk being filled (full or the last, partial one) to the host, then
  // hands the chunk before it to `on_tokens` once its copy has landed. Returns what on_tokens
  // returned (true when there was nothing to hand over).
  bool hand_over(const TokenChunkCallback& on_tokens);
  // Hands over the last chunk copied, waiting for its copy.
  bool finish(const TokenChunkCallback& on_tokens);

 private:
  struct Chunk {
    int first = 0, count = 0;  // positions
    int slot = 0;
  };
  int* device_slot(int slot) { return device_.data() + static_cast<std::size_t>(slot) * kChunkPositions * streams_; }
  int* host_slot(int slot) { return host_.data() + static_cast<std::size_t>(slot) * kChunkPositions * streams_; }
  bool deliver(Chunk& chunk, const TokenChunkCallback& on_tokens);

  cudaStream_t stream_;
  int streams_ = 0;
  DeviceBuffer<int> device_;  // [slot][position][stream]
  PinnedBuffer<int> host_;    // [slot][position][stream]
  std::array<Event, 2> copied_{Event(cudaEventDisableTiming), Event(cudaEventDisableTiming)};
  Chunk filling_;  // on the device
  Chunk copying_;  // on its way to the host; count 0 when none
};

}  // namespace genrnn::cuda
