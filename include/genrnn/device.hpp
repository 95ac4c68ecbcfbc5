#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace genrnn {

// Where the numeric work runs. `automatic` takes a usable GPU when there is one, else the CPU.
enum class Device { automatic, cpu, cuda };
Device parse_device(const std::string& name);  // "auto" | "cpu" | "cuda"

struct GpuInfo {
  int index = 0;
  std::string name;
  std::size_t total_memory = 0;  // bytes
  int compute_major = 0;
  int compute_minor = 0;
};

// The GPUs the CUDA runtime can use. Empty when it reports an error or none; `why_none` then
// says what the runtime said.
std::vector<GpuInfo> list_gpus(std::string* why_none = nullptr);

// The engine a Device resolves to ("cpu" for now) and a line saying why, for stderr.
struct EngineChoice {
  std::string engine;
  std::string reason;
};
// Throws Error for Device::cuda while no CUDA engine is built or no GPU is usable.
EngineChoice choose_engine(Device device);

}  // namespace genrnn
