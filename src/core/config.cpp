#include "genrnn/config.hpp"

#include <nlohmann/json.hpp>

#include "core/cell_table.hpp"
#include "core/text_list.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {

int ModelConfig::gate_count() const { return describe_cell(cell).gates; }

int ModelConfig::input_size() const { return embedding_dim > 0 ? embedding_dim : vocab_size; }

void ModelConfig::validate() const {
  auto check = [](const char* field, int value, int lo, int hi) {
    if (value < lo || value > hi)
      throw Error(std::string("model ") + field + " is " + std::to_string(value) + "; it must be in [" +
                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  check("num_layers", num_layers, 1, limits::max_layers);
  check("hidden_size", hidden_size, 1, limits::max_hidden_size);
  check("embedding_dim", embedding_dim, 0, limits::max_embedding_dim);
  check("vocab_size", vocab_size, 1, limits::max_vocab_size);
}

std::string to_string(CellType cell) { return describe_cell(cell).name; }

std::string to_string(TokenizerKind kind) { return kind == TokenizerKind::character ? "char" : "word"; }

std::vector<std::string> cell_names() {
  std::vector<std::string> names;
  for (const CellDescription& cell : cell_table()) names.push_back(cell.name);
  return names;
}

CellType parse_cell(const std::string& name) {
  for (const CellDescription& cell : cell_table())
    if (cell.name == name) return cell.type;
  throw Error("unknown cell '" + name + "' (expected " + one_of(cell_names()) + ")");
}

TokenizerKind parse_tokenizer_kind(const std::string& name) {
  if (name == "char") return TokenizerKind::character;
  if (name == "word") return TokenizerKind::word;
  throw Error("unknown tokenizer '" + name + "' (expected char or word)");
}

std::string config_to_json(const ModelConfig& config) {
  nlohmann::ordered_json j;
  j["cell"] = to_string(config.cell);
  j["num_layers"] = config.num_layers;
  j["hidden_size"] = config.hidden_size;
  j["embedding_dim"] = config.embedding_dim;
  j["vocab_size"] = config.vocab_size;
  j["tokenizer"] = to_string(config.tokenizer);
  return j.dump();
}

ModelConfig config_from_json(const std::string& json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("model config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("model config is not a JSON object");
  auto field = [&j](const char* name) -> const nlohmann::json& {
    auto it = j.find(name);
    if (it == j.end()) throw Error(std::string("model config lacks \"") + name + "\"");
    return *it;
  };
  auto integer = [&field](const char* name) {
    const auto& v = field(name);
    if (!v.is_number_integer()) throw Error(std::string("model config \"") + name + "\" is not an integer");
    auto value = v.get<int64_t>();
    if (value < 0 || value > (1 << 30)) throw Error(std::string("model config \"") + name + "\" is out of range");
    return static_cast<int>(value);
  };
  auto text = [&field](const char* name) {
    const auto& v = field(name);
    if (!v.is_string()) throw Error(std::string("model config \"") + name + "\" is not a string");
    return v.get<std::string>();
  };
  ModelConfig config;
  config.cell = parse_cell(text("cell"));
  config.tokenizer = parse_tokenizer_kind(text("tokenizer"));
  config.num_layers = integer("num_layers");
  config.hidden_size = integer("hidden_size");
  config.embedding_dim = integer("embedding_dim");
  config.vocab_size = integer("vocab_size");
  config.validate();
  return config;
}

}  // namespace genrnn
