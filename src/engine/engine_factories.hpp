#pragma once
// The GPU engines' factories, for the registry, declared without any CUDA header: a build
// without CUDA gives empty ones (src/engine/without_cuda.cpp).
#include <string>

#include "engine/engine_registry.hpp"

namespace genrnn {

// The GPU engines differ in their recurrent layers: cuDNN's RNN, or our fused kernels. `name`
// is the registry's, which the engines report.
enum class GpuLayers { cudnn, fused };
EngineFactories gpu_engine_factories(const std::string& name, GpuLayers layers);

}  // namespace genrnn
