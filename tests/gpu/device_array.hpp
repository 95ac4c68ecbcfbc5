#pragma once
// Device memory for the GPU tests, freed at scope exit, and the launch of a test kernel.
// Every CUDA failure throws std::runtime_error with CUDA's message: GoogleTest reports it as the
// test's failure. Only the CUDA runtime API: no cuDNN, which the device's test build lacks.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/launch.cuh"

namespace genrnn::testing {

// Throws, naming `what` and giving CUDA's message, unless status is cudaSuccess.
inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// `count` elements of T on the device. Empty is null, which is how the cell launchers are told
// a buffer is not used.
template <class T>
class DeviceArray {
 public:
  // Uninitialised memory for `count` elements.
  explicit DeviceArray(std::size_t count) : count_(count) {
    if (count_ == 0) return;
    void* data = nullptr;
    check_cuda(cudaMalloc(&data, count_ * sizeof(T)), "cudaMalloc");
    data_ = static_cast<T*>(data);
  }
  // A copy of `host`.
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
    if (count_ > 0) check_cuda(cudaMemcpy(data_, host.data(), count_ * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(data_); }

  T* get() const { return data_; }
  std::size_t size() const { return count_; }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    if (count_ > 0) check_cuda(cudaMemcpy(host.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost), "download");
    return host;
  }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

// The launch status, then the kernels' own (a fault inside a kernel surfaces at the synchronization).
inline void finish_launch() {
  check_cuda(cudaGetLastError(), "kernel launch");
  check_cuda(cudaDeviceSynchronize(), "kernel");
}

// A test kernel on `blocks` x `threads` through the project's launch helper, waited for.
template <class... Parameters, class... Arguments>
void launch_and_wait(const char* name, void (*kernel)(Parameters...), unsigned blocks, unsigned threads,
                     Arguments... arguments) {
  kernels::launch(name, kernel, {dim3(blocks), dim3(threads)}, nullptr, arguments...);
  finish_launch();
}

}  // namespace genrnn::testing
