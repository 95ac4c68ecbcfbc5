#include "genrnn/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "core/memory_size.hpp"
#include "core/safetensors.hpp"
#include "genrnn/error.hpp"

namespace genrnn {
namespace {

constexpr const char* config_key = "genrnn.config";
constexpr const char* vocab_key = "genrnn.vocab";

const std::string& metadata_value(const SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) throw Error("no \"" + key + "\" metadata (not a genrnn checkpoint?)");
  return it->second;
}

std::vector<std::string> parse_vocab(const std::string& json, int vocab_size) {
  nlohmann::json vocab;
  try {
    vocab = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(vocab_key) + " is not valid JSON: " + e.what());
  }
  if (!vocab.is_array()) throw Error(std::string(vocab_key) + " is not a JSON array");
  if (vocab.size() != static_cast<std::size_t>(vocab_size))
    throw Error(std::string(vocab_key) + " has " + std::to_string(vocab.size()) +
                " tokens but the config says vocab_size " + std::to_string(vocab_size));
  std::vector<std::string> tokens;
  for (const auto& token : vocab) {
    if (!token.is_string())
      throw Error(std::string(vocab_key) + " entry " + std::to_string(tokens.size()) + " is not a string");
    tokens.push_back(token.get<std::string>());
  }
  return tokens;
}

// Checks that the file holds exactly the tensors of `layout`, as F32 of the expected shapes.
void check_tensors(const SafetensorsFile& file, const std::vector<TensorSpec>& layout) {
  auto shape_text = [](const std::vector<int64_t>& shape) { return nlohmann::json(shape).dump(); };
  for (const auto& spec : layout) {
    const auto it = file.tensors.find(spec.name);
    if (it == file.tensors.end()) throw Error("missing tensor '" + spec.name + "'");
    if (it->second.shape != spec.shape)
      throw Error("tensor '" + spec.name + "' has shape " + shape_text(it->second.shape) + "; the config needs " +
                  shape_text(spec.shape));
    if (it->second.dtype != DType::f32) throw Error("tensor '" + spec.name + "' is not F32");
  }
  for (const auto& entry : file.tensors) {
    const bool expected =
        std::any_of(layout.begin(), layout.end(), [&](const TensorSpec& spec) { return spec.name == entry.first; });
    if (!expected) throw Error("unexpected tensor '" + entry.first + "' (not part of this model's config)");
  }
}

// Zeros for the parameters of `config`; where the machine lacks the memory, an Error that says
// how much they need.
std::vector<float> zero_parameters(const ModelConfig& config) {
  const std::size_t count = parameter_count(config);
  return host_vector<float>(count, "the model's " + std::to_string(count) + " parameters");
}

}  // namespace

Model Model::for_text(ModelConfig shape, const std::string& text, int max_vocab, uint64_t seed) {
  Tokenizer tokenizer = Tokenizer::build(shape.tokenizer, text, max_vocab);
  shape.vocab_size = tokenizer.size();
  return initialize(shape, std::move(tokenizer), seed);
}

Model Model::initialize(const ModelConfig& config, Tokenizer tokenizer, uint64_t seed) {
  config.validate();
  if (config.vocab_size != tokenizer.size())
    throw Error("model vocab_size is " + std::to_string(config.vocab_size) + " but the tokenizer has " +
                std::to_string(tokenizer.size()) + " tokens");
  Model model{config, std::move(tokenizer), zero_parameters(config)};

  std::mt19937_64 rng(seed);
  const float bound = 1.0f / std::sqrt(static_cast<float>(config.hidden_size));
  std::uniform_real_distribution<float> uniform(-bound, bound);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const auto& spec : parameter_layout(config)) {
    float* values = model.parameters.data() + spec.offset;
    switch (spec.init) {
      case TensorInit::uniform: std::generate_n(values, spec.numel(), [&] { return uniform(rng); }); break;
      case TensorInit::normal: std::generate_n(values, spec.numel(), [&] { return normal(rng); }); break;
      case TensorInit::ones: std::fill_n(values, spec.numel(), 1.0f); break;
      case TensorInit::zeros: std::fill_n(values, spec.numel(), 0.0f); break;
    }
  }
  return model;
}

Model Model::load(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  try {
    const ModelConfig config = config_from_json(metadata_value(file, config_key));
    auto tokens = parse_vocab(metadata_value(file, vocab_key), config.vocab_size);
    Tokenizer tokenizer = Tokenizer::from_vocab(config.tokenizer, std::move(tokens));
    const auto layout = parameter_layout(config);
    check_tensors(file, layout);

    Model model{config, std::move(tokenizer), zero_parameters(config)};
    for (const auto& spec : layout)
      std::memcpy(model.parameters.data() + spec.offset, file.tensors.at(spec.name).bytes.data(),
                  spec.numel() * sizeof(float));
    return model;
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

void Model::save(const std::string& path) const {
  if (parameters.size() != parameter_count(config))
    throw Error("cannot save " + path + ": the model has " + std::to_string(parameters.size()) +
                " parameters but its config needs " + std::to_string(parameter_count(config)));
  SafetensorsFile file;
  file.metadata[config_key] = config_to_json(config);
  file.metadata[vocab_key] = nlohmann::json(tokenizer.tokens()).dump();
  for (const auto& spec : parameter_layout(config))
    file.tensors.emplace(spec.name, SafeTensor::from_f32(spec.shape, parameters.data() + spec.offset));
  write_safetensors(path, file);
}

const float* Model::tensor(const std::string& name) const {
  return parameters.data() + find_tensor(parameter_layout(config), name).offset;
}

}  // namespace genrnn
