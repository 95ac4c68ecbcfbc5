#include "cuda/id_ring.hpp"

#include "genrnn/error.hpp"

namespace genrnn::cuda {

void IdRing::start(int streams) {
  streams_ = streams;
  const std::size_t slots = 2 * static_cast<std::size_t>(kChunkPositions) * streams;
  device_.reserve(slots);
  host_.reserve(slots);
  filling_ = {0, 0, 0};
  copying_ = {0, 0, 1};
}

bool IdRing::append(const int* ids) {
  int* row = device_slot(filling_.slot) + static_cast<std::size_t>(filling_.count) * streams_;
  GENRNN_CUDA_CHECK(
      cudaMemcpyAsync(row, ids, static_cast<std::size_t>(streams_) * sizeof(int), cudaMemcpyDeviceToDevice, stream_));
  return ++filling_.count == kChunkPositions;
}

int* IdRing::fill(int positions) {
  if (filling_.count + positions > kChunkPositions) throw Error("the id ring's chunk has no room for the positions");
  int* rows = device_slot(filling_.slot) + static_cast<std::size_t>(filling_.count) * streams_;
  filling_.count += positions;
  return rows;
}

bool IdRing::hand_over(const TokenChunkCallback& on_tokens) {
  // The host slot being written was read by the hand-over before last, which has returned; the
  // device slot is refilled only after this copy, in stream order.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(host_slot(filling_.slot), device_slot(filling_.slot),
                                    static_cast<std::size_t>(filling_.count) * streams_ * sizeof(int),
                                    cudaMemcpyDeviceToHost, stream_));
  GENRNN_CUDA_CHECK(cudaEventRecord(copied_[filling_.slot].get(), stream_));
  Chunk previous = copying_;
  copying_ = filling_;
  filling_ = {copying_.first + copying_.count, 0, copying_.slot ^ 1};
  return deliver(previous, on_tokens);
}

bool IdRing::finish(const TokenChunkCallback& on_tokens) { return deliver(copying_, on_tokens); }

bool IdRing::deliver(Chunk& chunk, const TokenChunkCallback& on_tokens) {
  if (chunk.count == 0) return true;
  GENRNN_CUDA_CHECK(cudaEventSynchronize(copied_[chunk.slot].get()));
  const int count = chunk.count;
  chunk.count = 0;
  return on_tokens(chunk.first, count, host_slot(chunk.slot));
}

}  // namespace genrnn::cuda
