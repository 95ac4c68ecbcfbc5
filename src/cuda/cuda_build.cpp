// What a build with the CUDA engines reports: its CUDA and cuDNN versions and the GPUs the
// runtime finds.
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "core/cuda_build.hpp"
#include "genrnn/device.hpp"

namespace genrnn {

std::string why_no_cuda_build() { return {}; }

void describe_cuda_build(BuildInfo& info) {
  info.cuda = true;
  info.cuda_runtime = std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10);
  info.cudnn = GENRNN_CUDNN_VERSION;
  // cuDNN 9 encodes its version as major * 10000 + minor * 100 + patch.
  const std::size_t loaded = cudnnGetVersion();
  info.cudnn_loaded =
      std::to_string(loaded / 10000) + "." + std::to_string(loaded % 10000 / 100) + "." + std::to_string(loaded % 100);
  info.cuda_architectures = GENRNN_CUDA_ARCHITECTURES;
}

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  std::vector<GpuInfo> gpus;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why_none) *why_none = std::string("CUDA runtime: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear the error so later calls start clean
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
