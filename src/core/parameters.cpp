#include "genrnn/parameters.hpp"

#include "genrnn/error.hpp"

namespace genrnn {

std::size_t TensorSpec::numel() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

std::vector<TensorSpec> parameter_layout(const ModelConfig& config) {
  const int64_t V = config.vocab_size, E = config.embedding_dim, H = config.hidden_size;
  const int64_t GH = int64_t{config.gate_count()} * H;
  std::vector<TensorSpec> layout;
  std::size_t offset = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    layout.push_back({std::move(name), std::move(shape), offset});
    offset += layout.back().numel();
  };
  if (E > 0) add("embedding.weight", {V, E});
  for (int k = 0; k < config.num_layers; ++k) {
    const auto suffix = "_l" + std::to_string(k);
    add("rnn.weight_ih" + suffix, {GH, k == 0 ? int64_t{config.input_size()} : H});
    add("rnn.weight_hh" + suffix, {GH, H});
    add("rnn.bias_ih" + suffix, {GH});
    add("rnn.bias_hh" + suffix, {GH});
  }
  add("head.weight", {V, H});
  add("head.bias", {V});
  return layout;
}

std::size_t parameter_count(const ModelConfig& config) {
  const auto layout = parameter_layout(config);
  return layout.back().offset + layout.back().numel();
}

const TensorSpec& find_tensor(const std::vector<TensorSpec>& layout, const std::string& name) {
  for (const auto& spec : layout)
    if (spec.name == name) return spec;
  throw Error("the model has no tensor '" + name + "'");
}

}  // namespace genrnn
