#pragma once
// Each device's engines, for the registry. A build without CUDA gives empty GPU factories
// (src/engine/without_cuda.cpp).
#include "engine/engine_registry.hpp"

namespace genrnn {

EngineFactories cpu_engine_factories();

// The GPU engines differ in their recurrent layers: cuDNN's RNN, or our fused kernels. `name`
// is the registry's, which the engines report.
enum class GpuLayers { cudnn, fused };
EngineFactories gpu_engine_factories(const std::string& name, GpuLayers layers);
// Why this build has no GPU engines; empty when it has them.
std::string why_no_cuda_build();

}  // namespace genrnn
