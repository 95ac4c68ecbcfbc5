#include "engine/engine_registry.hpp"

#include "core/cell_table.hpp"
#include "core/cuda_build.hpp"
#include "core/text_list.hpp"
#include "cpu/cpu_engines.hpp"
#include "engine/device_scope.hpp"
#include "engine/engine_factories.hpp"
#include "genrnn/error.hpp"

#include <algorithm>

namespace genrnn {

namespace {

// The cells for which `runs` holds.
template <class Predicate>
std::vector<CellType> cells_where(Predicate runs) {
  std::vector<CellType> cells;
  for (const CellDescription& cell : cell_table())
    if (runs(cell)) cells.push_back(cell.type);
  return cells;
}
std::vector<CellType> every_cell() {
  return cells_where([](const CellDescription&) { return true; });
}

bool runs_cell(const EngineEntry& entry, CellType cell) {
  return std::find(entry.cells.begin(), entry.cells.end(), cell) != entry.cells.end();
}

const std::string kPhiloxMasks = "Philox masks keyed by (seed, step), the same on cpu and fused";
const std::string kSharedGpuParts = "; cuBLAS head, fused loss, clipping and Adam kernels; decoding replays one "
                                    "step as a CUDA graph, sampling on the device";

// The first entry on the CPU and the first on a GPU are what "auto" takes.
const EngineEntry& first_engine(bool on_gpu) {
  for (const EngineEntry& entry : engine_registry())
    if (entry.on_gpu == on_gpu) return entry;
  throw Error(on_gpu ? "no GPU engine is registered" : "no CPU engine is registered");
}

EngineEntry gpu_entry(const std::string& name, const std::string& description, const std::string& dropout,
                      std::vector<CellType> cells, GpuLayers layers) {
  return {name, description + kSharedGpuParts, true, dropout, std::move(cells), {"graph", "persistent"},
          gpu_engine_factories(name, layers)};
}

std::string option_name(const std::string& engine) { return "--engine " + engine; }

const EngineEntry& engine_in_this_build(const std::string& engine) {
  const EngineEntry& entry = find_engine(engine);
  if (!entry.in_this_build()) throw Error(option_name(engine) + ": " + why_no_cuda_build());
  return entry;
}

}  // namespace

const std::vector<EngineEntry>& engine_registry() {
  static const std::vector<EngineEntry> registry = {
      {"cpu", "float32 reference and fallback: oneDNN or OpenBLAS products around the shared layer driver", false, kPhiloxMasks,
       every_cell(), {}, cpu_engine_factories()},
      gpu_entry("cudnn",
                "cuDNN's RNN (CUDNN_RNN_ALGO_STANDARD) for the recurrent layers; a one-hot first layer gathers "
                "W_ih's columns through the fused layer driver",
                "cuDNN's own masks between its layers (Philox after a one-hot first layer)",
                cells_where([](const CellDescription& cell) { return cell.cudnn_mode != math::kNoCudnnMode; }),
                GpuLayers::cudnn),
      gpu_entry("fused",
                "the shared layer driver on our kernels: one GEMM for all steps' input projections, per step a "
                "recurrent GEMM and one fused cell kernel",
                kPhiloxMasks, every_cell(), GpuLayers::fused),
  };
  return registry;
}

const EngineEntry& find_engine(const std::string& name) {
  std::vector<std::string> names{"auto"};
  for (const EngineEntry& entry : engine_registry()) {
    if (entry.name == name) return entry;
    names.push_back(entry.name);
  }
  throw Error("unknown engine '" + name + "' (expected " + one_of(names) + ")");
}

std::vector<EngineInfo> registered_engines() {
  std::vector<EngineInfo> engines;
  for (const EngineEntry& entry : engine_registry())
    engines.push_back({entry.name, entry.description, entry.on_gpu ? "cuda" : "cpu", entry.dropout,
                       entry.decoders, entry.in_this_build(), entry.in_this_build() ? "" : why_no_cuda_build()});
  return engines;
}

Device parse_device(const std::string& name) {
  if (name == "auto") return Device::automatic;
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw Error("unknown device '" + name + "' (expected auto, cpu or cuda)");
}

EngineChoice choose_engine(Device device, const std::string& engine, int gpu) {
  const EngineEntry* asked = engine == "auto" ? nullptr : &engine_in_this_build(engine);
  if (device == Device::cuda && !why_no_cuda_build().empty()) throw Error("--device cuda: " + why_no_cuda_build());
  const bool gpu_asked = asked && asked->on_gpu;
  if (device == Device::cpu || (device == Device::automatic && asked && !gpu_asked)) {
    if (gpu_asked) throw Error(option_name(engine) + " needs a GPU; it does not run with --device cpu");
    const EngineEntry& chosen = asked ? *asked : first_engine(false);
    return {chosen.name, "using the CPU", false};
  }
  std::string why_none;
  const auto gpus = list_gpus(&why_none);
  if (gpus.empty()) {
    if (device == Device::cuda || gpu_asked)
      throw Error("no usable GPU for " + (gpu_asked ? option_name(engine) : std::string("--device cuda")) + " (" +
                  why_none + ")");
    return {first_engine(false).name, "no usable GPU (" + why_none + "); using the CPU", false};
  }
  if (asked && !gpu_asked) throw Error(option_name(engine) + " runs on the CPU: use --device cpu");
  const EngineEntry& chosen = asked ? *asked : first_engine(true);
  const int index = gpu >= 0 ? gpu : std::max(0, current_gpu());
  if (index >= static_cast<int>(gpus.size()))
    throw Error("--gpu " + std::to_string(index) + ": this machine has " + std::to_string(gpus.size()) +
                (gpus.size() == 1 ? " GPU (0)" : " GPUs (0 to " + std::to_string(gpus.size() - 1) + ")") +
                "; gen_cuda info lists them");
  return {chosen.name, "using GPU " + std::to_string(index) + " (" + gpus[index].name + ") with the " + chosen.name +
          " engine", true, index};
}

EngineChoice choose_engine(const EngineOptions& options, const ModelConfig& config) {
  EngineChoice choice = choose_engine(options.device, options.engine, options.gpu);
  if (options.engine == "auto" && !runs_cell(find_engine(choice.engine), config.cell))
    for (const EngineEntry& other : engine_registry())  // auto: the first on the same device that runs the cell
      if (other.on_gpu == choice.on_gpu && other.in_this_build() && runs_cell(other, config.cell)) {
        choice.reason += "; " + other.name + ", as " + choice.engine + " does not run " + to_string(config.cell) +
                         " cells";
        choice.engine = other.name;
        break;
      }
  const EngineEntry& entry = find_engine(choice.engine);
  if (!runs_cell(entry, config.cell))
    throw Error("the " + entry.name + " engine does not run " + to_string(config.cell) + " cells");
  const auto& decoders = entry.decoders;
  if (options.decoder != "auto" && std::find(decoders.begin(), decoders.end(), options.decoder) == decoders.end())
    throw Error("--decoder " + options.decoder + ": the " + entry.name + " engine " +
                (decoders.empty() ? std::string("has its own decoder only (use auto)")
                                  : "decodes with " + one_of(decoders) + " (or auto)"));
  return choice;
}

std::unique_ptr<TrainingEngine> make_training_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options) {
  return engine_in_this_build(engine).make.training(config, options);
}

std::unique_ptr<DecodingEngine> make_decoding_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options) {
  return engine_in_this_build(engine).make.decoding(config, options);
}

std::unique_ptr<TokenSampler> make_sampler(const std::string& engine, const EngineOptions& options) {
  return engine_in_this_build(engine).make.sampler(options);
}

}  // namespace genrnn
