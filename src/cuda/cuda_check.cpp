#include "cuda/cuda_check.hpp"

#include <string>

#include "core/memory_size.hpp"
#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

[[noreturn]] void fail(const std::string& library, const char* call, const char* file, int line,
                       const std::string& message) {
  throw Error(library + " call " + call + " failed at " + file + ":" + std::to_string(line) + ": " + message);
}

// "; 1.2 GiB free of 79.1 GiB" after a failed allocation, where cudaMemGetInfo answers.
std::string free_memory_note() {
  const std::string memory = device_memory_text();
  return memory.empty() ? memory : "; " + memory;
}

}  // namespace

std::string device_memory_text() {
  std::size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    return {};
  }
  return byte_size_text(free) + " free of " + byte_size_text(total);
}

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so that the next call starts clean
  fail("CUDA", call, file, line,
       std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")" +
           (status == cudaErrorMemoryAllocation ? free_memory_note() : ""));
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  fail("cuBLAS", call, file, line,
       std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")" +
           (status == CUBLAS_STATUS_ALLOC_FAILED ? free_memory_note() : ""));
}

void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  fail("cuDNN", call, file, line,
       std::string(cudnnGetErrorString(status)) + (detail[0] ? std::string(": ") + detail : ""));
}

}  // namespace genrnn::cuda
