#include "cpu/cpu_engines.hpp"

namespace genrnn {

EngineFactories cpu_engine_factories() {
  return {[](const ModelConfig& config, const EngineOptions&) -> std::unique_ptr<TrainingEngine> {
            return std::make_unique<cpu::CpuTrainingEngine>(config);
          },
          [](const ModelConfig& config, const EngineOptions&) -> std::unique_ptr<DecodingEngine> {
            return std::make_unique<cpu::CpuDecoder>(config);
          },
          [](const EngineOptions&) -> std::unique_ptr<TokenSampler> { return std::make_unique<cpu::CpuSampler>(); }};
}

}  // namespace genrnn
