#pragma once
// Owned device memory in the stream-ordered allocator: a buffer is allocated and freed in the
// order of the one stream it is used on, so freeing it waits for that stream's queued work and
// nothing else. Buffers grow and never shrink, so a steady training or decoding loop allocates
// nothing after its first step.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "cuda/cuda_check.hpp"

namespace genrnn::cuda {

// cudaMallocAsync with an out-of-memory message that says how much was asked and how much is free.
void* allocate_device(std::size_t bytes, cudaStream_t stream);
// `bytes`: what allocate_device was asked for.
void free_device(void* pointer, std::size_t bytes, cudaStream_t stream) noexcept;
// cudaMallocHost with an out-of-memory message that says how much was asked and how much is available.
void* allocate_pinned(std::size_t bytes);
// Throws, naming `what`, when `stream` is being captured into a CUDA graph: for work that
// must run before any capture (allocation, synchronization).
void require_not_capturing(cudaStream_t stream, const char* what);
// The bytes allocate_device has handed out and free_device not yet taken back, over the whole
// process: what tests read to see that a loop allocates nothing more.
std::size_t device_bytes_allocated();
// How many allocations allocate_device has made in the whole process: a device buffer's address
// can only have changed where this has (what a captured CUDA graph's pointers rely on).
uint64_t device_allocations();

// `floats` rounded up to 64 floats: offsets in a device buffer on a 256-byte boundary, like
// cudaMalloc's, for the libraries that want aligned operands.
constexpr std::size_t aligned_floats(std::size_t floats) { return (floats + 63) / 64 * 64; }

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(cudaStream_t stream) : stream_(stream) {}
  DeviceBuffer(std::size_t count, cudaStream_t stream) : stream_(stream) { reserve(count); }
  ~DeviceBuffer() { free_device(data_, capacity_ * sizeof(T), stream_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        capacity_(std::exchange(other.capacity_, 0)),
        stream_(other.stream_) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(stream_, other.stream_);
    return *this;
  }

  // Makes room for `count` elements; contents are lost when it has to grow. Never while the
  // stream is being captured: the graph would own the memory (an Error says so).
  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    require_not_capturing(stream_, "a device buffer grows");
    free_device(data_, capacity_ * sizeof(T), stream_);
    data_ = nullptr;
    capacity_ = 0;
    data_ = static_cast<T*>(allocate_device(count * sizeof(T), stream_));
    capacity_ = count;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
  cudaStream_t stream_;
};

// Page-locked host memory, so that copies to and from the device are truly asynchronous.
template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { cudaFreeHost(data_); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void reserve(std::size_t count) {
    if (count <= capacity_) return;
    cudaFreeHost(data_);
    data_ = nullptr;
    capacity_ = 0;
    data_ = static_cast<T*>(allocate_pinned(count * sizeof(T)));
    capacity_ = count;
  }
  T* data() { return data_; }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

// A CUDA event, destroyed with its owner.
class Event {
 public:
  explicit Event(unsigned flags = cudaEventDefault) { GENRNN_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags)); }
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// A pinned staging area for uploads that must not wait for the device: the host fills it while
// the stream may still be copying its previous contents, so acquire() first waits for that copy
// (only that copy) to have run.
template <class T>
class UploadStage {
 public:
  T* acquire(std::size_t count) {
    GENRNN_CUDA_CHECK(cudaEventSynchronize(copied_.get()));
    buffer_.reserve(count);
    return buffer_.data();
  }
  // Queues the copy of the first `count` elements to `device` and marks the stage busy until then.
  void upload(T* device, std::size_t count, cudaStream_t stream) {
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(device, buffer_.data(), count * sizeof(T), cudaMemcpyHostToDevice, stream));
    GENRNN_CUDA_CHECK(cudaEventRecord(copied_.get(), stream));
  }

 private:
  PinnedBuffer<T> buffer_;
  Event copied_{cudaEventDisableTiming};
};

}  // namespace genrnn::cuda
