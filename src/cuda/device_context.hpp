#pragma once
// The GPU an engine runs on: one stream, with the cuBLAS and cuDNN handles bound to it.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <functional>

namespace genrnn::cuda {

class DeviceContext {
 public:
  // Device 0 for now; TF32 off keeps results comparable with the CPU engine.
  explicit DeviceContext(bool tf32 = false);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  bool tf32() const { return tf32_; }
  // Waits for the stream and reports any error its work raised.
  void synchronize() const;
  // Seconds that `work` takes on the stream, its queued work included (CUDA events).
  double seconds(const std::function<void()>& work) const;

 private:
  bool tf32_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  // cuBLAS's workspace, set explicitly: the products inside a captured CUDA graph then run the
  // same kernels as outside it (cuBLAS otherwise picks a capture-safe workspace of its own).
  void* cublas_workspace_ = nullptr;
};

}  // namespace genrnn::cuda
