#include "cuda/device_context.hpp"

#include <atomic>

#include "cuda/cuda_check.hpp"
#include "cuda/device_buffer.hpp"
#include "engine/device_scope.hpp"

namespace genrnn::cuda {

namespace {

// What NVIDIA's cuBLAS documentation recommends for Hopper; more than other GPUs need.
constexpr std::size_t kCublasWorkspaceBytes = std::size_t(32) << 20;

std::atomic<int> cudnn_handles{0};

int resolved(int gpu) { return gpu >= 0 ? gpu : current_gpu(); }

}  // namespace

int cudnn_handles_open() { return cudnn_handles; }

DeviceContext::DeviceContext(int gpu, bool tf32) : gpu_(resolved(gpu)), tf32_(tf32) {
  const DeviceScope scope(gpu_);
  GENRNN_CUDA_CHECK(cudaGetDeviceProperties(&properties_, gpu_));
  GENRNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  GENRNN_CUBLAS_CHECK(cublasCreate(&cublas_));
  GENRNN_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  GENRNN_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  cublas_workspace_ = allocate_device(kCublasWorkspaceBytes, stream_);
  GENRNN_CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_, kCublasWorkspaceBytes));
}

DeviceContext::~DeviceContext() {
  const DeviceScope scope(gpu_);
  cudaStreamSynchronize(stream_);
  if (cudnn_) {
    cudnnDestroy(cudnn_);
    --cudnn_handles;
  }
  cublasDestroy(cublas_);
  free_device(cublas_workspace_, kCublasWorkspaceBytes, stream_);
  cudaStreamSynchronize(stream_);
  cudaStreamDestroy(stream_);
}

cudnnHandle_t DeviceContext::cudnn() const {
  if (!cudnn_) {
    const DeviceScope scope(gpu_);
    cudnnHandle_t handle = nullptr;
    GENRNN_CUDNN_CHECK(cudnnCreate(&handle));
    const cudnnStatus_t status = cudnnSetStream(handle, stream_);
    if (status != CUDNN_STATUS_SUCCESS) cudnnDestroy(handle);
    GENRNN_CUDNN_CHECK(status);
    cudnn_ = handle;
    ++cudnn_handles;
  }
  return cudnn_;
}

void DeviceContext::synchronize() const {
  GENRNN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  GENRNN_CUDA_CHECK(cudaGetLastError());
}

double DeviceContext::seconds(const std::function<void()>& work) const {
  const DeviceScope scope(gpu_);
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
