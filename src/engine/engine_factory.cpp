#include "cpu/cpu_engine.hpp"
#include "cuda/gpu_engine.hpp"
#include "engine/engine.hpp"
#include "genrnn/device.hpp"
#include "genrnn/error.hpp"

namespace genrnn {

Device parse_device(const std::string& name) {
  if (name == "auto") return Device::automatic;
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw Error("unknown device '" + name + "' (expected auto, cpu or cuda)");
}

EngineChoice choose_engine(Device device, const std::string& engine) {
  const bool gpu_engine = engine == "cudnn" || engine == "fused";
  if (engine != "auto" && engine != "cpu" && !gpu_engine)
    throw Error("unknown engine '" + engine + "' (expected auto, cpu, cudnn or fused)");
  if (device == Device::cpu || (device == Device::automatic && engine == "cpu")) {
    if (gpu_engine) throw Error("--engine " + engine + " needs a GPU; it does not run with --device cpu");
    return {"cpu", "using the CPU"};
  }
  std::string why_none;
  const auto gpus = list_gpus(&why_none);
  if (gpus.empty()) {
    if (device == Device::cuda || gpu_engine)
      throw Error("no usable GPU for " + (gpu_engine ? "--engine " + engine : std::string("--device cuda")) + " (" +
                  why_none + ")");
    return {"cpu", "no usable GPU (" + why_none + "); using the CPU"};
  }
  if (engine == "cpu") throw Error("--engine cpu runs on the CPU: use --device cpu");
  const std::string chosen = gpu_engine ? engine : "cudnn";
  return {chosen, "using " + gpus.front().name + " with the " + chosen + " engine"};
}

std::vector<std::pair<std::string, std::string>> engine_descriptions() {
  const std::string shared = "; cuBLAS head, fused loss, clipping and Adam kernels";
  return {{"cpu", "float32 reference and fallback, OpenBLAS GEMMs"},
          {"cudnn", "cuDNN RNN, CUDNN_RNN_ALGO_STANDARD (PERSIST_STATIC variants not yet measured)" + shared},
          {"fused", "one GEMM for all steps' input projections, per step a recurrent GEMM and one fused cell kernel" +
                        shared}};
}

std::unique_ptr<Engine> make_engine(const std::string& engine, const ModelConfig& config, bool tf32) {
  if (engine == "cpu") return std::make_unique<CpuEngine>(config);
  if (engine == "cudnn" || engine == "fused") return std::make_unique<cuda::GpuEngine>(config, engine, tf32);
  throw Error("unknown engine '" + engine + "'");
}

}  // namespace genrnn
