#include "genrnn/parameters.hpp"

#include "core/cell_table.hpp"
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
  auto add = [&](std::string name, std::vector<int64_t> shape, TensorInit init) {
    layout.push_back({std::move(name), std::move(shape), offset, init});
    offset += layout.back().numel();
  };
  if (E > 0) add("embedding.weight", {V, E}, TensorInit::normal);
  for (int k = 0; k < config.num_layers; ++k) {
    const int64_t input = k == 0 ? int64_t{config.input_size()} : H;
    for (const math::LayerTensor& tensor : describe_cell(config.cell).layer_tensors) {
      std::vector<int64_t> shape;
      switch (tensor.shape) {
        case math::TensorShape::gates_by_input: shape = {GH, input}; break;
        case math::TensorShape::gates_by_hidden: shape = {GH, H}; break;
        case math::TensorShape::gates: shape = {GH}; break;
        case math::TensorShape::hidden: shape = {H}; break;
      }
      add(std::string("rnn.") + tensor.name + "_l" + std::to_string(k), std::move(shape), tensor.init);
    }
  }
  add("head.weight", {V, H}, TensorInit::uniform);
  add("head.bias", {V}, TensorInit::uniform);
  return layout;
}

std::size_t parameter_count(const ModelConfig& config) {
  const auto layout = parameter_layout(config);
  return layout.back().offset + layout.back().numel();
}

ParameterOffsets parameter_offsets(const ModelConfig& config) {
  // parameter_layout's order: [embedding], the cell's tensors per layer, head.weight, head.bias.
  const auto layout = parameter_layout(config);
  const std::size_t per_layer = describe_cell(config.cell).layer_tensors.size();
  ParameterOffsets offsets;
  std::size_t next = 0;
  if (config.embedding_dim > 0) offsets.embedding = layout[next++].offset;
  for (int l = 0; l < config.num_layers; ++l) {
    LayerOffsets layer{{}, l == 0 ? config.input_size() : config.hidden_size};
    for (std::size_t t = 0; t < per_layer; ++t) layer.tensors.push_back(layout[next++].offset);
    offsets.layers.push_back(std::move(layer));
  }
  offsets.rnn_end = layout[next].offset;
  offsets.head_weight = layout[next].offset;
  offsets.head_bias = layout[next + 1].offset;
  offsets.count = layout.back().offset + layout.back().numel();
  return offsets;
}

const TensorSpec& find_tensor(const std::vector<TensorSpec>& layout, const std::string& name) {
  for (const auto& spec : layout)
    if (spec.name == name) return spec;
  throw Error("the model has no tensor '" + name + "'");
}

}  // namespace genrnn
