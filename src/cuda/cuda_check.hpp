#pragma once
// Every CUDA, cuBLAS and cuDNN status is checked; a failure becomes a genrnn::Error naming the
// call, where it was made and the library's own message.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string>

namespace genrnn::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line);

// "1.2 GiB free of 79.1 GiB" on the current device (cudaMemGetInfo), for out-of-memory messages;
// empty where that cannot be read.
std::string device_memory_text();

}  // namespace genrnn::cuda

#define GENRNN_CUDA_CHECK(call)                                                                                     \
  do {                                                                                                              \
    const cudaError_t genrnn_status_ = (call);                                                                      \
    if (genrnn_status_ != cudaSuccess) ::genrnn::cuda::throw_cuda_error(genrnn_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define GENRNN_CUBLAS_CHECK(call)                                                    \
  do {                                                                               \
    const cublasStatus_t genrnn_status_ = (call);                                    \
    if (genrnn_status_ != CUBLAS_STATUS_SUCCESS)                                     \
      ::genrnn::cuda::throw_cublas_error(genrnn_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define GENRNN_CUDNN_CHECK(call)                                                    \
  do {                                                                              \
    const cudnnStatus_t genrnn_status_ = (call);                                    \
    if (genrnn_status_ != CUDNN_STATUS_SUCCESS)                                     \
      ::genrnn::cuda::throw_cudnn_error(genrnn_status_, #call, __FILE__, __LINE__); \
  } while (0)
