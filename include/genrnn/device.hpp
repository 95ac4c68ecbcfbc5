#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "genrnn/config.hpp"

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

// How an engine is picked and set up, for Generator, evaluate, the benchmark and Trainer
// (TrainOptions holds one).
struct EngineOptions {
  Device device = Device::automatic;
  std::string engine = "auto";  // "auto" or a name from registered_engines()
  bool tf32 = false;            // GPU engines: TF32 tensor cores for float32 products
  bool cuda_graphs = true;      // the graph decoder: replay one captured step (false: plain launches)
  // GPU engines: "graph" (a CUDA graph per step), "persistent" (the whole token loop in one
  // kernel per chunk; the graph decoder where it does not fit, saying why), or "auto" (the
  // graph decoder, until a GPU has measured the persistent one faster).
  std::string decoder = "auto";
  // GPU engines: the CUDA device they run on (-1: the calling thread's current one, 0 unless
  // the caller chose another). Every call of theirs leaves the caller's current device as it was.
  int gpu = -1;
};

// What an engine is made for: each role is its own object, and an engine may lack some.
enum class EngineRole { training, decoding, sampling };

// An engine of the registry: what it is and does, and whether this build has it.
struct EngineInfo {
  std::string name;
  std::string description;
  std::string device;                 // "cpu" or "cuda"
  std::string dropout;                // how its training draws dropout masks
  std::vector<std::string> decoders;  // what EngineOptions::decoder may name besides "auto"
  bool in_this_build = true;
  std::string why_not;              // when it is not in this build
  std::vector<std::string> cells;   // the cells it runs, by name ("lstm")
  std::vector<std::string> limits;  // one line each on what it does not run, and why
};
std::vector<EngineInfo> registered_engines();

// The engine a request resolves to and a line saying why, for stderr.
struct EngineChoice {
  std::string engine;
  std::string reason;
  bool on_gpu = false;
  int gpu = -1;  // on a GPU: its CUDA device index
};
// `engine` is "auto" (the first GPU engine when a GPU is usable, else the CPU's) or a
// registered engine's name; `gpu` the GPU a GPU engine would use (-1: the current device).
// Throws Error, naming the option at fault, when they cannot go together, when this build
// lacks what is asked for, when Device::cuda finds no usable GPU, or when a GPU engine is
// chosen and GPU `gpu` does not exist.
EngineChoice choose_engine(Device device, const std::string& engine = "auto", int gpu = -1);
// As above, for a model of `config` in `role`: "auto" takes the first engine on the device that
// runs it (the reason names those it passed over), a named engine that does not is refused, and
// a decoder the engine lacks too.
EngineChoice choose_engine(const EngineOptions& options, const ModelConfig& config, EngineRole role);

}  // namespace genrnn
