#include "cuda/gpu_sampler.hpp"
#include "cuda/gpu_training_engine.hpp"
#include "cuda/graph_decoder.hpp"
#include "cuda/persistent_decoder.hpp"
#include "engine/device_scope.hpp"
#include "engine/engine_factories.hpp"
#include "kernels/persistent_ops.hpp"

namespace genrnn {

// Each engine is made on its GPU, and the caller's current device is theirs again after.
EngineFactories gpu_engine_factories(const std::string& name, GpuLayers layers) {
  return {[=](const ModelConfig& config, const EngineOptions& options) -> std::unique_ptr<TrainingEngine> {
            const DeviceScope scope(options.gpu);
            return std::make_unique<cuda::GpuTrainingEngine>(name, config, layers, options);
          },
          [=](const ModelConfig& config, const EngineOptions& options) -> std::unique_ptr<DecodingEngine> {
            const DeviceScope scope(options.gpu);
            // "auto" is the graph decoder until a GPU benchmark has shown the persistent one faster.
            if (options.decoder == "persistent")
              return std::make_unique<cuda::PersistentDecoder>(name, config, layers, options);
            return std::make_unique<cuda::GraphDecoder>(name, config, layers, options);
          },
          [](const EngineOptions& options) -> std::unique_ptr<TokenSampler> {
            const DeviceScope scope(options.gpu);
            return std::make_unique<cuda::GpuSampler>(options);
          }};
}

// What kernels::persistent_shape refuses before it asks the GPU, said ahead of a decode.
std::string persistent_decoder_limits(const ModelConfig& config) {
  return kernels::persistent_model_limits(config.cell, config.num_layers);
}

}  // namespace genrnn
