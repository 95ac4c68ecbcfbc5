#include "cpu/cpu_engines.hpp"
#include "genrnn/threads.hpp"

namespace genrnn {

EngineFactories cpu_engine_factories() {
  // cpu_threads() first: it brings OpenBLAS's pool within this process's cores.
  return {[](const ModelConfig& config, const EngineOptions&) -> std::unique_ptr<TrainingEngine> {
            cpu_threads();
            return std::make_unique<cpu::CpuTrainingEngine>(config);
          },
          [](const ModelConfig& config, const EngineOptions&) -> std::unique_ptr<DecodingEngine> {
            cpu_threads();
            return std::make_unique<cpu::CpuDecoder>(config);
          },
          [](const EngineOptions&) -> std::unique_ptr<TokenSampler> { return std::make_unique<cpu::CpuSampler>(); }};
}

}  // namespace genrnn
