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

void free_device(void* pointer) noexcept { cudaFree(pointer); }

}  // namespace genrnn::cuda
