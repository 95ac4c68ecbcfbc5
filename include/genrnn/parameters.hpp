#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/config.hpp"

namespace genrnn {

// One named tensor of the PyTorch module, stored row-major inside one flat float buffer.
struct TensorSpec {
  std::string name;  // e.g. "rnn.weight_ih_l0"
  std::vector<int64_t> shape;
  std::size_t offset = 0;  // in floats, into the flat parameter buffer
  std::size_t numel() const;
};

// The module's tensors in a fixed order: embedding.weight (if E > 0), then per layer k
// rnn.weight_ih_lk, rnn.weight_hh_lk, rnn.bias_ih_lk, rnn.bias_hh_lk, then head.weight, head.bias.
std::vector<TensorSpec> parameter_layout(const ModelConfig& config);
std::size_t parameter_count(const ModelConfig& config);
const TensorSpec& find_tensor(const std::vector<TensorSpec>& layout, const std::string& name);

// Where one recurrent layer's tensors start in the flat buffer (in floats), and its input width.
struct LayerOffsets {
  std::size_t weight_ih = 0, weight_hh = 0, bias_ih = 0, bias_hh = 0;
  int input_size = 0;
};

// parameter_layout as offsets, for code that indexes the flat buffer.
struct ParameterOffsets {
  std::size_t embedding = 0;  // embedding.weight; meaningless when E = 0
  std::vector<LayerOffsets> layers;
  std::size_t rnn_begin = 0, rnn_end = 0;  // the rnn.* tensors, one contiguous run
  std::size_t head_weight = 0, head_bias = 0;
  std::size_t count = 0;  // every parameter
};
ParameterOffsets parameter_offsets(const ModelConfig& config);

}  // namespace genrnn
