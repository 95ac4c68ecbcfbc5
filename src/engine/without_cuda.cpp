// A build without the CUDA engines (GENRNN_CUDA=OFF, or no CUDA toolkit found): no GPUs, and
// the GPU engines of the registry are there only to say why they cannot run.
#include "core/cuda_build.hpp"
#include "engine/device_scope.hpp"
#include "engine/engine_factories.hpp"

namespace genrnn {

std::string why_no_cuda_build() {
  return std::string("this build of genrnn has no CUDA (") + GENRNN_NO_CUDA_REASON + ")";
}

void describe_cuda_build(BuildInfo& info) {
  info.cuda = false;
  info.no_cuda_reason = why_no_cuda_build();
}

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  if (why_none) *why_none = why_no_cuda_build();
  return {};
}

EngineFactories gpu_engine_factories(const std::string&, GpuLayers) { return {}; }
std::string persistent_decoder_limits(const ModelConfig&) { return why_no_cuda_build(); }

// No GPU engine runs here, so no engine ever names a GPU.
DeviceScope::DeviceScope(int) {}
DeviceScope::~DeviceScope() = default;
int current_gpu() { return -1; }

}  // namespace genrnn
