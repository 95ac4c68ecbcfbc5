#pragma once
// The GPU an engine runs on: one stream, with the cuBLAS and cuDNN handles bound to it.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

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

 private:
  bool tf32_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
};

}  // namespace genrnn::cuda
