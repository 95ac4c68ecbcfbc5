#include <cuda_runtime_api.h>

#include "genrnn/device.hpp"

namespace genrnn {

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  std::vector<GpuInfo> gpus;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why_none) *why_none = std::string("CUDA runtime: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return gpus;
  }
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, index) != cudaSuccess) continue;
    gpus.push_back({index, properties.name, properties.totalGlobalMem, properties.major, properties.minor});
  }
  if (gpus.empty() && why_none) *why_none = "the CUDA runtime found no GPU";
  return gpus;
}

}  // namespace genrnn
