#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/config.hpp"

namespace genrnn {

// A new model's values of a tensor: uniform in +-1/sqrt(H) (PyTorch's RNN and Linear), standard
// normal (nn.Embedding), or the ones and zeros of a normalisation's gain and bias.
enum class TensorInit { uniform, normal, ones, zeros };

// One named tensor of the PyTorch module, stored row-major inside one flat float buffer.
struct TensorSpec {
  std::string name;  // e.g. "rnn.weight_ih_l0"
  std::vector<int64_t> shape;
  std::size_t offset = 0;  // in floats, into the flat parameter buffer
  TensorInit init = TensorInit::uniform;
  std::size_t numel() const;
};

// The module's tensors in a fixed order: embedding.weight (if E > 0), then per layer k the
// cell's tensors rnn.<name>_lk (PyTorch's weight_ih, weight_hh, bias_ih, bias_hh, then the
// cell's own, e.g. the LayerNorm-LSTM's gains), then head.weight, head.bias.
std::vector<TensorSpec> parameter_layout(const ModelConfig& config);
std::size_t parameter_count(const ModelConfig& config);
const TensorSpec& find_tensor(const std::vector<TensorSpec>& layout, const std::string& name);

// Where each of one recurrent layer's tensors starts in the flat buffer (in floats), in the
// cell's order, and the layer's input width.
struct LayerOffsets {
  std::vector<std::size_t> tensors;
  int input_size = 0;
  std::size_t weight_ih() const { return tensors[0]; }
  std::size_t weight_hh() const { return tensors[1]; }
  std::size_t bias_ih() const { return tensors[2]; }
  std::size_t bias_hh() const { return tensors[3]; }
};

// parameter_layout as offsets, for code that indexes the flat buffer.
struct ParameterOffsets {
  std::size_t embedding = 0;  // embedding.weight; meaningless when E = 0
  std::vector<LayerOffsets> layers;
  std::size_t rnn_end = 0;  // where the rnn.* tensors, one contiguous run, end
  std::size_t head_weight = 0, head_bias = 0;
  std::size_t count = 0;  // every parameter
};
ParameterOffsets parameter_offsets(const ModelConfig& config);

}  // namespace genrnn
