#include "cuda/device_context.hpp"

#include "cuda/cuda_check.hpp"
#include "cuda/device_buffer.hpp"

namespace genrnn::cuda {

namespace {

// What NVIDIA's cuBLAS documentation recommends for Hopper; more than other GPUs need.
constexpr std::size_t kCublasWorkspaceBytes = std::size_t(32) << 20;

}  // namespace

DeviceContext::DeviceContext(bool tf32) : tf32_(tf32) {
  GENRNN_CUDA_CHECK(cudaSetDevice(0));
  GENRNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  GENRNN_CUBLAS_CHECK(cublasCreate(&cublas_));
  GENRNN_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  GENRNN_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  cublas_workspace_ = allocate_device(kCublasWorkspaceBytes, stream_);
  GENRNN_CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_, kCublasWorkspaceBytes));
  GENRNN_CUDNN_CHECK(cudnnCreate(&cudnn_));
  GENRNN_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
}

DeviceContext::~DeviceContext() {
  cudaStreamSynchronize(stream_);
  cudnnDestroy(cudnn_);
  cublasDestroy(cublas_);
  free_device(cublas_workspace_, kCublasWorkspaceBytes, stream_);
  cudaStreamSynchronize(stream_);
  cudaStreamDestroy(stream_);
}

void DeviceContext::synchronize() const {
  GENRNN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  GENRNN_CUDA_CHECK(cudaGetLastError());
}

double DeviceContext::seconds(const std::function<void()>& work) const {
  const Event start, stop;
  GENRNN_CUDA_CHECK(cudaEventRecord(start.get(), stream_));
  work();
  GENRNN_CUDA_CHECK(cudaEventRecord(stop.get(), stream_));
  GENRNN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float milliseconds = 0;
  GENRNN_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()));
  return milliseconds / 1000.0;
}

}  // namespace genrnn::cuda
