#include "cuda/gpu_sampler.hpp"
#include "cuda/gpu_training_engine.hpp"
#include "cuda/graph_decoder.hpp"
#include "cuda/persistent_decoder.hpp"
#include "engine/engine_factories.hpp"

namespace genrnn {

EngineFactories gpu_engine_factories(const std::string& name, GpuLayers layers) {
  return {[=](const ModelConfig& config, const EngineOptions& options) -> std::unique_ptr<TrainingEngine> {
            return std::make_unique<cuda::GpuTrainingEngine>(name, config, layers, options.tf32);
          },
          [=](const ModelConfig& config, const EngineOptions& options) -> std::unique_ptr<DecodingEngine> {
            // "auto" is the graph decoder until a GPU benchmark has shown the persistent one faster.
            if (options.decoder == "persistent")
              return std::make_unique<cuda::PersistentDecoder>(name, config, layers, options.tf32, options.cuda_graphs);
            return std::make_unique<cuda::GraphDecoder>(name, config, layers, options.tf32, options.cuda_graphs);
          },
          [](const EngineOptions& options) -> std::unique_ptr<TokenSampler> {
            return std::make_unique<cuda::GpuSampler>(options.tf32);
          }};
}

}  // namespace genrnn
