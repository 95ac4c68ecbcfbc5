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

// The persistent decoder's own limits, before a GPU's shared memory has its say: why it does
// not decode a model of `config`, or "".
std::string persistent_decoder_limits(const ModelConfig& config);

}  // namespace genrnn
