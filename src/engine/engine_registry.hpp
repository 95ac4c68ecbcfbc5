#pragma once
// The one table of engines. The factory, engine selection, `gen_cuda info`, the CLI's checks
// and the docs read it; a new engine is one more entry in engine_registry.cpp.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "genrnn/config.hpp"
#include "genrnn/device.hpp"

namespace genrnn {

// How to make an engine's roles; empty where this build lacks the engine.
struct EngineFactories {
  std::function<std::unique_ptr<TrainingEngine>(const ModelConfig&, const EngineOptions&)> training;
  std::function<std::unique_ptr<DecodingEngine>(const ModelConfig&, const EngineOptions&)> decoding;
  std::function<std::unique_ptr<TokenSampler>(const EngineOptions&)> sampler;
};

struct EngineEntry {
  std::string name;
  std::string description;
  bool on_gpu;
  std::string dropout;          // how its training draws dropout masks
  std::vector<CellType> cells;  // the cells it runs
  std::vector<std::string> decoders;  // what --decoder may name besides "auto" (none: its own only)
  EngineFactories make;
  bool in_this_build() const { return static_cast<bool>(make.training); }
};

const std::vector<EngineEntry>& engine_registry();
// Throws Error naming the registered engines when there is none of that name.
const EngineEntry& find_engine(const std::string& name);

// The roles of a registered engine, for a model of `config` (the name as choose_engine gives it).
std::unique_ptr<TrainingEngine> make_training_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options = {});
std::unique_ptr<DecodingEngine> make_decoding_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options = {});
std::unique_ptr<TokenSampler> make_sampler(const std::string& engine, const EngineOptions& options = {});

}  // namespace genrnn
