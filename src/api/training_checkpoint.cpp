#include "api/training_checkpoint.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/cell_table.hpp"
#include "core/safetensors.hpp"
#include "genrnn/error.hpp"

namespace genrnn {
namespace {

// Ties the file to the weights it was saved with (FNV-1a over their bytes).
std::string parameters_fingerprint(const std::vector<float>& parameters) {
  uint64_t hash = 14695981039346656037ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(parameters.data());
  for (std::size_t i = 0; i < parameters.size() * sizeof(float); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return std::to_string(hash);
}

const std::string& metadata_text(const SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) throw Error("lacks \"" + key + "\"");
  return it->second;
}

// A whole decimal number in [low, high], nothing before or after it.
template <typename T>
T metadata_number(const SafetensorsFile& file, const std::string& key, T low, T high) {
  const std::string& text = metadata_text(file, key);
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < low || value > high)
    throw Error("\"" + key + "\" is " + nlohmann::json(text).dump() + ", not an integer in [" + std::to_string(low) +
                ", " + std::to_string(high) + "]");
  return value;
}

std::vector<float> f32_tensor(const SafetensorsFile& file, const std::string& name, const std::vector<int64_t>& shape) {
  const auto it = file.tensors.find(name);
  if (it == file.tensors.end()) throw Error("lacks tensor '" + name + "'");
  if (it->second.dtype != DType::f32 || it->second.shape != shape)
    throw Error("tensor '" + name + "' is not F32 of shape " + nlohmann::json(shape).dump());
  return it->second.to_f32();
}

}  // namespace

void write_training_checkpoint(const std::string& path, const TrainingCheckpoint& checkpoint, const Model& model) {
  SafetensorsFile file;
  file.metadata = {{"genrnn.step", std::to_string(checkpoint.step)},
                   {"genrnn.optimizer_step", std::to_string(checkpoint.optimizer.step)},
                   {"genrnn.batch", std::to_string(checkpoint.batch)},
                   {"genrnn.seq_len", std::to_string(checkpoint.seq_len)},
                   {"genrnn.seed", std::to_string(checkpoint.seed)},
                   {"genrnn.parameters", parameters_fingerprint(model.parameters)}};
  const auto n = static_cast<int64_t>(checkpoint.optimizer.m.size());
  if (n > 0) {
    file.tensors["adam.m"] = SafeTensor::from_f32({n}, checkpoint.optimizer.m.data());
    file.tensors["adam.v"] = SafeTensor::from_f32({n}, checkpoint.optimizer.v.data());
  }
  const std::vector<int64_t> state_shape{model.config.num_layers, checkpoint.state.batch, model.config.hidden_size};
  file.tensors["state.h"] = SafeTensor::from_f32(state_shape, checkpoint.state.h.data());
  if (!checkpoint.state.c.empty())
    file.tensors["state.c"] = SafeTensor::from_f32(state_shape, checkpoint.state.c.data());
  write_safetensors(path, file);
}

TrainingCheckpoint read_training_checkpoint(const std::string& path, const Model& model) {
  const SafetensorsFile file = read_safetensors(path);
  try {
    if (metadata_text(file, "genrnn.parameters") != parameters_fingerprint(model.parameters))
      throw Error("does not belong to the weights beside it (was one of them replaced or is a write incomplete?)");
    constexpr int64_t max_steps = int64_t{1} << 62;  // far from overflow as training goes on
    constexpr int int_max = std::numeric_limits<int>::max();
    TrainingCheckpoint checkpoint;
    checkpoint.step = metadata_number<int64_t>(file, "genrnn.step", 0, max_steps);
    checkpoint.optimizer.step = metadata_number<int64_t>(file, "genrnn.optimizer_step", 0, max_steps);
    checkpoint.batch = metadata_number<int>(file, "genrnn.batch", 1, int_max);
    checkpoint.seq_len = metadata_number<int>(file, "genrnn.seq_len", 1, int_max);
    checkpoint.seed = metadata_number<uint64_t>(file, "genrnn.seed", 0, std::numeric_limits<uint64_t>::max());

    std::vector<std::string> expected{"state.h"};
    const std::vector<int64_t> state_shape{model.config.num_layers, checkpoint.batch, model.config.hidden_size};
    checkpoint.state = {checkpoint.batch, f32_tensor(file, "state.h", state_shape), {}};
    if (has_cell_state(model.config)) {
      checkpoint.state.c = f32_tensor(file, "state.c", state_shape);
      expected.push_back("state.c");
    }
    if (file.tensors.count("adam.m") || file.tensors.count("adam.v")) {
      const std::vector<int64_t> shape{static_cast<int64_t>(model.parameters.size())};
      checkpoint.optimizer.m = f32_tensor(file, "adam.m", shape);
      checkpoint.optimizer.v = f32_tensor(file, "adam.v", shape);
      expected.insert(expected.end(), {"adam.m", "adam.v"});
    }
    for (const auto& entry : file.tensors)
      if (std::find(expected.begin(), expected.end(), entry.first) == expected.end())
        throw Error("unexpected tensor '" + entry.first + "'");
    return checkpoint;
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace genrnn
