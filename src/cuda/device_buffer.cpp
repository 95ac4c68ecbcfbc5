#include "cuda/device_buffer.hpp"

#include <string>

#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

std::string mebibytes(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

void* allocate_device(std::size_t bytes) {
  void* pointer = nullptr;
  const cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    std::size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    throw Error("out of GPU memory: asked for " + mebibytes(bytes) + " with " + mebibytes(free) + " free of " +
                mebibytes(total));
  }
  GENRNN_CUDA_CHECK(status);
  return pointer;
}

void free_device(void* pointer) noexcept {
  if (pointer == nullptr) return;
  // Queued work may still use the memory (a buffer grows between asynchronous steps, an engine
  // goes away): cudaFree only "may" synchronize, so wait for the device first.
  cudaDeviceSynchronize();
  cudaFree(pointer);
}

}  // namespace genrnn::cuda
