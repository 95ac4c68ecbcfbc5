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

// How to make an engine's roles, each optional: empty where the engine lacks the role, all of
// them where this build lacks the engine.
struct EngineFactories {
  std::function<std::unique_ptr<TrainingEngine>(const ModelConfig&, const EngineOptions&)> training;
  std::function<std::unique_ptr<DecodingEngine>(const ModelConfig&, const EngineOptions&)> decoding;
  std::function<std::unique_ptr<TokenSampler>(const EngineOptions&)> sampler;
};

// A decoder that EngineOptions::decoder may name. `why_not` (empty: none) says which models it
// does not decode before a GPU has its say; the engine decodes those with its first decoder and
// says so in DecodeStats::note.
struct EngineDecoder {
  std::string name;
  std::function<std::string(const ModelConfig&)> why_not;
};

struct EngineEntry {
  std::string name;
  std::string description;
  bool on_gpu;
  std::string dropout;  // how its training draws dropout masks
  // Why it does not run a cell ("cuDNN has no lnlstm cell"), "" where it does; empty: every cell.
  std::function<std::string(CellType)> why_not_cell;
  std::vector<EngineDecoder> decoders;  // what --decoder may name besides "auto" (none: its own only)
  EngineFactories make;

  bool in_this_build() const;  // it has a role here
  bool has(EngineRole role) const;
  std::vector<CellType> cells() const;  // the cells it runs
  // "" when it runs a model of `config` in `role`, else a line saying why not: not in this build,
  // not that role, or not the cell (a sampler runs no cell).
  std::string supports(const ModelConfig& config, EngineRole role) const;
};

const std::vector<EngineEntry>& engine_registry();
// Throws Error naming the registered engines when there is none of that name.
const EngineEntry& find_engine(const std::string& name);

// The roles of an engine, for a model of `config`: by name (as choose_engine gives it) or by
// entry. Throw Error, naming the engine, where it does not support the model in that role.
std::unique_ptr<TrainingEngine> make_training_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options = {});
std::unique_ptr<DecodingEngine> make_decoding_engine(const std::string& engine, const ModelConfig& config,
                                                     const EngineOptions& options = {});
std::unique_ptr<TokenSampler> make_sampler(const std::string& engine, const EngineOptions& options = {});
std::unique_ptr<TrainingEngine> make_training_engine(const EngineEntry& engine, const ModelConfig& config,
                                                     const EngineOptions& options = {});
std::unique_ptr<DecodingEngine> make_decoding_engine(const EngineEntry& engine, const ModelConfig& config,
                                                     const EngineOptions& options = {});
std::unique_ptr<TokenSampler> make_sampler(const EngineEntry& engine, const EngineOptions& options = {});

}  // namespace genrnn
