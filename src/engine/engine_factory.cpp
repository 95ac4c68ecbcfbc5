#include "cpu/cpu_engine.hpp"
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

EngineChoice choose_engine(Device device) {
  if (device == Device::cpu) return {"cpu", "using the CPU (--device cpu)"};
  std::string why_none;
  const auto gpus = list_gpus(&why_none);
  if (device == Device::cuda) {
    if (gpus.empty()) throw Error("--device cuda: no usable GPU (" + why_none + ")");
    throw Error("--device cuda: the CUDA engines are not built yet; use --device cpu or auto");
  }
  if (gpus.empty()) return {"cpu", "no usable GPU (" + why_none + "); using the CPU"};
  return {"cpu", "found " + gpus.front().name + ", but the CUDA engines are not built yet; using the CPU"};
}

std::unique_ptr<Engine> make_engine(const std::string& engine, const ModelConfig& config) {
  if (engine == "cpu") return std::make_unique<CpuEngine>(config);
  throw Error("unknown engine '" + engine + "'");
}

}  // namespace genrnn
