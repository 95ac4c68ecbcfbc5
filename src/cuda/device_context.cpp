#include "cuda/device_context.hpp"

#include "cuda/cuda_check.hpp"

namespace genrnn::cuda {

DeviceContext::DeviceContext(bool tf32) : tf32_(tf32) {
  GENRNN_CUDA_CHECK(cudaSetDevice(0));
  GENRNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  GENRNN_CUBLAS_CHECK(cublasCreate(&cublas_));
  GENRNN_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  GENRNN_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  GENRNN_CUDNN_CHECK(cudnnCreate(&cudnn_));
  GENRNN_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
}

DeviceContext::~DeviceContext() {
  cudaStreamSynchronize(stream_);
  cudnnDestroy(cudnn_);
  cublasDestroy(cublas_);
  cudaStreamDestroy(stream_);
}

void DeviceContext::synchronize() const {
  GENRNN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  GENRNN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace genrnn::cuda
