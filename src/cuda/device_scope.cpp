#include "engine/device_scope.hpp"

#include <cuda_runtime_api.h>

#include <string>

#include "genrnn/error.hpp"

namespace genrnn {

DeviceScope::DeviceScope(int gpu) {
  if (gpu < 0) return;
  int current = 0;
  cudaError_t status = cudaGetDevice(&current);
  if (status == cudaSuccess && current == gpu) return;
  if (status == cudaSuccess) status = cudaSetDevice(gpu);
  if (status != cudaSuccess) {
    cudaGetLastError();  // this call's error, said here, not the next call's
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) cudaGetLastError();
    throw Error("GPU " + std::to_string(gpu) + " cannot be used: " + cudaGetErrorString(status) +
                " (this machine has " + std::to_string(count) + (count == 1 ? " GPU" : " GPUs") +
                "; gen_cuda info lists them)");
  }
  previous_ = current;
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}

int current_gpu() {
  int device = 0;
  if (cudaGetDevice(&device) == cudaSuccess) return device;
  cudaGetLastError();
  return -1;
}

}  // namespace genrnn
