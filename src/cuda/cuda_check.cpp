#include "cuda/cuda_check.hpp"

#include <string>

#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

[[noreturn]] void fail(const std::string& library, const char* call, const char* file, int line,
                       const std::string& message) {
  throw Error(library + " call " + call + " failed at " + file + ":" + std::to_string(line) + ": " + message);
}

}  // namespace

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so that the next call starts clean
  fail("CUDA", call, file, line, std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")");
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  fail("cuBLAS", call, file, line, std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")");
}

void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  fail("cuDNN", call, file, line, std::string(cudnnGetErrorString(status)) + (detail[0] ? std::string(": ") + detail : ""));
}

}  // namespace genrnn::cuda
