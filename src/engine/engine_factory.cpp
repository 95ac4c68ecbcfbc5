#include <chrono>

#include "cpu/cpu_engine.hpp"
#include "cuda/cudnn_engine.hpp"
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
  if (engine != "auto" && engine != "cpu" && engine != "cudnn")
    throw Error("unknown engine '" + engine + "' (expected auto, cpu or cudnn)");
  if (device == Device::cpu || (device == Device::automatic && engine == "cpu")) {
    if (engine == "cudnn") throw Error("--engine cudnn needs a GPU; it does not run with --device cpu");
    return {"cpu", "using the CPU"};
  }
  std::string why_none;
  const auto gpus = list_gpus(&why_none);
  if (gpus.empty()) {
    if (device == Device::cuda || engine == "cudnn")
      throw Error("no usable GPU for --device cuda (" + why_none + ")");
    return {"cpu", "no usable GPU (" + why_none + "); using the CPU"};
  }
  if (engine == "cpu") throw Error("--engine cpu runs on the CPU: use --device cpu");
  return {"cudnn", "using " + gpus.front().name + " with the cudnn engine"};
}

double wall_clock_seconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Engine::time_seconds(const std::function<void()>& work) { return wall_clock_seconds(work); }

std::vector<std::pair<std::string, std::string>> engine_descriptions() {
  return {{"cpu", "float32 reference and fallback, OpenBLAS GEMMs"},
          {"cudnn", std::string("cuDNN RNN (") + cuda::CudnnRnn::algorithm_name() +
                        "; PERSIST_STATIC variants not yet measured), cuBLAS head, fused loss, clipping and Adam kernels"}};
}

std::unique_ptr<Engine> make_engine(const std::string& engine, const ModelConfig& config, bool tf32) {
  if (engine == "cpu") return std::make_unique<CpuEngine>(config);
  if (engine == "cudnn") return std::make_unique<cuda::CudnnEngine>(config, tf32);
  throw Error("unknown engine '" + engine + "'");
}

}  // namespace genrnn
