#include "cuda/device_buffer.hpp"

#include <atomic>
#include <string>

#include "core/memory_size.hpp"
#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

std::atomic<std::size_t> bytes_allocated{0};
std::atomic<uint64_t> allocations{0};

}  // namespace

void* allocate_device(std::size_t bytes, cudaStream_t stream) {
  void* pointer = nullptr;
  const cudaError_t status = cudaMallocAsync(&pointer, bytes, stream);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it, the next call starts clean
    const std::string memory = device_memory_text();
    throw Error("out of GPU memory: asked for " + byte_size_text(bytes) + (memory.empty() ? "" : " with " + memory));
  }
  GENRNN_CUDA_CHECK(status);
  bytes_allocated += bytes;
  ++allocations;
  return pointer;
}

void* allocate_pinned(std::size_t bytes) {
  void* pointer = nullptr;
  const cudaError_t status = cudaMallocHost(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw_out_of_memory("page-locked host memory", bytes);
  }
  GENRNN_CUDA_CHECK(status);
  return pointer;
}

void free_device(void* pointer, std::size_t bytes, cudaStream_t stream) noexcept {
  if (pointer == nullptr) return;
  // After the stream's queued work, which may still use the memory (a buffer grows between
  // asynchronous steps, an engine goes away): the stream-ordered free waits for it, on the device.
  cudaFreeAsync(pointer, stream);
  bytes_allocated -= bytes;
}

std::size_t device_bytes_allocated() { return bytes_allocated; }

uint64_t device_allocations() { return allocations; }

void require_not_capturing(cudaStream_t stream, const char* what) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  GENRNN_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  if (status != cudaStreamCaptureStatusNone)
    throw Error(std::string(what) + " while its stream is captured into a CUDA graph: set it up before the capture");
}

}  // namespace genrnn::cuda
