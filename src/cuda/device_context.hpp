#pragma once
// The GPU an engine runs on: the device, one stream, and the cuBLAS and cuDNN handles bound to it.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <functional>

namespace genrnn::cuda {

class DeviceContext {
 public:
  // On CUDA device `gpu` (gpu < 0: the calling thread's current device); TF32 off keeps results
  // comparable with the CPU engine.
  DeviceContext(int gpu, bool tf32);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  int gpu() const { return gpu_; }
  const cudaDeviceProp& properties() const { return properties_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  // Made when first asked for: cudnnCreate costs hundreds of milliseconds and some memory,
  // which the engines that never call cuDNN (fused, the sampler) should not pay.
  cudnnHandle_t cudnn() const;
  bool tf32() const { return tf32_; }
  // Waits for the stream and reports any error its work raised.
  void synchronize() const;
  // Seconds that `work` takes on the stream, its queued work included (CUDA events); `work`
  // runs with this context's GPU current.
  double seconds(const std::function<void()>& work) const;

 private:
  int gpu_;
  bool tf32_;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  mutable cudnnHandle_t cudnn_ = nullptr;
  // cuBLAS's workspace, set explicitly: the products inside a captured CUDA graph then run the
  // same kernels as outside it (cuBLAS otherwise picks a capture-safe workspace of its own).
  void* cublas_workspace_ = nullptr;
};

// The cuDNN handles that device contexts hold now, in the whole process: what tests read to see
// that an engine without cuDNN layers made none.
int cudnn_handles_open();

}  // namespace genrnn::cuda
