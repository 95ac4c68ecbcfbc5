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

}  // namespace genrnn
