#pragma once
#include <cstddef>
#include <string>
#include <utility>
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

// The engine a request resolves to ("cpu" or "cudnn") and a line saying why, for stderr.
struct EngineChoice {
  std::string engine;
  std::string reason;
};
// `engine` is "auto" (the GPU's engine when one is usable, else the CPU), "cpu" or "cudnn".
// Throws Error when the two cannot go together or Device::cuda finds no usable GPU.
EngineChoice choose_engine(Device device, const std::string& engine = "auto");

// The engines this build has, each with a line on how it works (for `gen_cuda info`).
std::vector<std::pair<std::string, std::string>> engine_descriptions();

}  // namespace genrnn
