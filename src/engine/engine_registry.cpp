#include "engine/engine_registry.hpp"

#include "core/cell_table.hpp"
#include "core/cuda_build.hpp"
#include "core/text_list.hpp"
#include "cpu/cpu_engines.hpp"
#include "engine/device_scope.hpp"
#include "engine/engine_factories.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

#include <algorithm>

namespace genrnn {

namespace {

using WhyNot = std::function<std::string(const EngineEntry&)>;

const char* verb(EngineRole role) {
  switch (role) {
    case EngineRole::training: return "train";
    case EngineRole::decoding: return "decode";
    case EngineRole::sampling: return "sample";
  }
  return "run";
}

std::string why_not_built(const EngineEntry& entry) { return entry.in_this_build() ? "" : why_no_cuda_build(); }

std::string cudnn_cells(CellType cell) {
  const CellDescription& described = describe_cell(cell);
  return described.cudnn_mode == math::kNoCudnnMode ? std::string("cuDNN has no ") + described.name + " cell" : "";
}

const std::string kPhiloxMasks = "Philox masks keyed by (seed, step), the same on cpu and fused";
const std::string kSharedGpuParts =
    "; cuBLAS head, fused loss, clipping and Adam kernels; decoding replays one "
    "step as a CUDA graph, sampling on the device";

// The first engine on the device that `why_not` passes ("auto"), and in `passed_over` a note
// naming those before it and why not.
const EngineEntry& first_engine(bool on_gpu, const WhyNot& why_not, std::string& passed_over) {
  std::string skipped;
  for (const EngineEntry& entry : engine_registry()) {
    if (entry.on_gpu != on_gpu) continue;
    const std::string why = why_not(entry);
    if (why.empty()) {
      if (!skipped.empty()) passed_over = " (passing over " + skipped + ")";
      return entry;
    }
    skipped += (skipped.empty() ? "" : "; ") + entry.name + ": " + why;
  }
  throw Error(std::string("no ") + (on_gpu ? "GPU" : "CPU") + " engine for this (" +
              (skipped.empty() ? std::string("none is registered") : skipped) + ")");
}

EngineEntry gpu_entry(const std::string& name, const std::string& description, const std::string& dropout,
                      std::function<std::string(CellType)> why_not_cell, GpuLayers layers) {
  return {name,
          description + kSharedGpuParts,
          true,
          dropout,
          std::move(why_not_cell),
          {{"graph", {}}, {"persistent", persistent_decoder_limits}},
          gpu_engine_factories(name, layers)};
}

std::string option_name(const std::string& engine) { return "--engine " + engine; }

const EngineEntry& engine_in_this_build(const std::string& engine) {
  const EngineEntry& entry = find_engine(engine);
  if (!entry.in_this_build()) throw Error(option_name(engine) + ": " + why_not_built(entry));
  return entry;
}

// Throws Error, naming the engine, unless `why` is empty.
void require(const EngineEntry& entry, const std::string& why) {
  if (!why.empty()) throw Error(option_name(entry.name) + ": " + why);
}

// The device, the GPU and the engine of a request; "auto" takes the first engine on the device
// that `why_not` passes, and a named engine that it does not pass is refused.
EngineChoice choose(Device device, const std::string& engine, int gpu, const WhyNot& why_not) {
  const EngineEntry* asked = engine == "auto" ? nullptr : &engine_in_this_build(engine);
  if (device == Device::cuda && !why_no_cuda_build().empty()) throw Error("--device cuda: " + why_no_cuda_build());
  const bool gpu_asked = asked && asked->on_gpu;
  std::string note;  // the engines "auto" passed over
  const auto pick = [&](bool on_gpu) -> const EngineEntry& {
    if (!asked) return first_engine(on_gpu, why_not, note);
    require(*asked, why_not(*asked));
    return *asked;
  };
  if (device == Device::cpu || (device == Device::automatic && asked && !gpu_asked)) {
    if (gpu_asked) throw Error(option_name(engine) + " needs a GPU; it does not run with --device cpu");
    const std::string chosen = pick(false).name;
    return {chosen, "using the CPU" + note, false};
  }
  std::string why_none;
  const auto gpus = list_gpus(&why_none);
  if (gpus.empty()) {
    if (device == Device::cuda || gpu_asked)
      throw Error("no usable GPU for " + (gpu_asked ? option_name(engine) : std::string("--device cuda")) + " (" +
                  why_none + ")");
    const std::string chosen = pick(false).name;
    return {chosen, "no usable GPU (" + why_none + "); using the CPU" + note, false};
  }
  if (asked && !gpu_asked) throw Error(option_name(engine) + " runs on the CPU: use --device cpu");
  const int index = gpu >= 0 ? gpu : std::max(0, current_gpu());
  if (index >= static_cast<int>(gpus.size()))
    throw Error("--gpu " + std::to_string(index) + ": this machine has " + std::to_string(gpus.size()) +
                (gpus.size() == 1 ? " GPU (0)" : " GPUs (0 to " + std::to_string(gpus.size() - 1) + ")") +
                "; gen_cuda info lists them");
  const EngineEntry& chosen = pick(true);
  return {
      chosen.name,
      "using GPU " + std::to_string(index) + " (" + gpus[index].name + ") with the " + chosen.name + " engine" + note,
      true, index};
}

// --decoder: one the chosen engine has; the reason says where it would not decode this model.
EngineChoice with_decoder(EngineChoice choice, const EngineOptions& options, const ModelConfig& config) {
  if (options.decoder == "auto") return choice;
  const EngineEntry& entry = find_engine(choice.engine);
  const auto& decoders = entry.decoders;
  const auto decoder =
      std::find_if(decoders.begin(), decoders.end(), [&](const EngineDecoder& d) { return d.name == options.decoder; });
  if (decoder == decoders.end()) {
    std::vector<std::string> names;
    for (const EngineDecoder& d : decoders) names.push_back(d.name);
    throw Error("--decoder " + options.decoder + ": the " + entry.name + " engine " +
                (names.empty() ? std::string("has its own decoder only (use auto)")
                               : "decodes with " + one_of(names) + " (or auto)"));
  }
  const std::string why = decoder->why_not ? decoder->why_not(config) : "";
  if (!why.empty())
    choice.reason +=
        "; --decoder " + decoder->name + ": " + why + ", so the " + decoders.front().name + " decoder decodes";
  return choice;
}

// The lines of EngineInfo::limits: the cells it does not run, the roles it lacks, and what its
// decoders do not decode (each cell it runs, at one layer, then at the most a model may have).
std::vector<std::string> limits_of(const EngineEntry& entry) {
  std::vector<std::string> lines;
  const auto add = [&](const std::string& line) {
    if (!line.empty() && std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  };
  for (const CellDescription& cell : cell_table())
    if (entry.why_not_cell) add(entry.why_not_cell(cell.type));
  if (!entry.in_this_build()) return lines;
  for (EngineRole role : {EngineRole::training, EngineRole::decoding, EngineRole::sampling})
    if (!entry.has(role)) add("the " + entry.name + " engine does not " + verb(role));
  for (const EngineDecoder& decoder : entry.decoders)
    if (decoder.why_not)
      for (int layers : {1, limits::max_layers})
        for (CellType cell : entry.cells()) {
          const std::string why = decoder.why_not({cell, layers, 8, 0, 8, TokenizerKind::character});
          if (!why.empty()) add("--decoder " + decoder.name + ": " + why);
        }
  return lines;
}

}  // namespace

bool EngineEntry::in_this_build() const { return make.training || make.decoding || make.sampler; }

bool EngineEntry::has(EngineRole role) const {
  switch (role) {
    case EngineRole::training: return static_cast<bool>(make.training);
    case EngineRole::decoding: return static_cast<bool>(make.decoding);
    case EngineRole::sampling: return static_cast<bool>(make.sampler);
  }
  return false;
}

std::vector<CellType> EngineEntry::cells() const {
  std::vector<CellType> cells;
  for (const CellDescription& cell : cell_table())
    if (!why_not_cell || why_not_cell(cell.type).empty()) cells.push_back(cell.type);
  return cells;
}

std::string EngineEntry::supports(const ModelConfig& config, EngineRole role) const {
  if (!in_this_build()) return why_not_built(*this);
  if (!has(role)) return "the " + name + " engine does not " + verb(role);
  if (role == EngineRole::sampling || !why_not_cell) return "";  // a sampler runs no cell
  return why_not_cell(config.cell);
}

const std::vector<EngineEntry>& engine_registry() {
  static const std::vector<EngineEntry> registry = {
      {"cpu",
       "float32 reference and fallback: oneDNN or OpenBLAS products around the shared layer driver",
       false,
       kPhiloxMasks,
       {},  // every cell
       {},  // its own decoder only
       cpu_engine_factories()},
      gpu_entry("cudnn",
                "cuDNN's RNN (CUDNN_RNN_ALGO_STANDARD) for the recurrent layers; a one-hot first layer gathers "
                "W_ih's columns through the fused layer driver",
                "cuDNN's own masks between its layers (Philox after a one-hot first layer)", cudnn_cells,
                GpuLayers::cudnn),
      gpu_entry("fused",
                "the shared layer driver on our kernels: one GEMM for all steps' input projections, per step a "
                "recurrent GEMM and one fused cell kernel",
                kPhiloxMasks, {} /* every cell */, GpuLayers::fused),
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
  for (const EngineEntry& entry : engine_registry()) {
    std::vector<std::string> decoders, cells;
    for (const EngineDecoder& decoder : entry.decoders) decoders.push_back(decoder.name);
    for (CellType cell : entry.cells()) cells.push_back(to_string(cell));
    engines.push_back({entry.name, entry.description, entry.on_gpu ? "cuda" : "cpu", entry.dropout, decoders,
                       entry.in_this_build(), why_not_built(entry), cells, limits_of(entry)});
  }
  return engines;
}

Device parse_device(const std::string& name) {
  if (name == "auto") return Device::automatic;
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw Error("unknown device '" + name + "' (expected auto, cpu or cuda)");
}

EngineChoice choose_engine(Device device, const std::string& engine, int gpu) {
  return choose(device, engine, gpu, why_not_built);
}

EngineChoice choose_engine(const EngineOptions& options, const ModelConfig& config, EngineRole role) {
  const WhyNot why_not = [&](const EngineEntry& entry) { return entry.supports(config, role); };
  return with_decoder(choose(options.device, options.engine, options.gpu, why_not), options, config);
}

std::unique_ptr<TrainingEngine> make_training_engine(const EngineEntry& engine, const ModelConfig& config,
                                                     const EngineOptions& options) {
  require(engine, engine.supports(config, EngineRole::training));
  return engine.make.training(config, options);
}

std::unique_ptr<DecodingEngine> make_decoding_engine(const EngineEntry& engine, const ModelConfig& config,
                                                     const EngineOptions& options) {
  require(engine, engine.supports(config, EngineRole::decoding));
  return engine.make.decoding(config, options);
}

std::unique_ptr<TokenSampler> make_sampler(const EngineEntry& engine, const EngineOptions& options) {
  require(engine, engine.supports({}, EngineRole::sampling));  // a sampler runs no cell
  return engine.make.sampler(options);
}

std::unique_ptr<TrainingEngine> make_training_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options) {
  return make_training_engine(find_engine(engine), config, options);
}

std::unique_ptr<DecodingEngine> make_decoding_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options) {
  return make_decoding_engine(find_engine(engine), config, options);
}

std::unique_ptr<TokenSampler> make_sampler(const std::string& engine, const EngineOptions& options) {
  return make_sampler(find_engine(engine), options);
}

}  // namespace genrnn
