#pragma once
#include <cstdint>
#include <vector>

#include "genrnn/device.hpp"
#include "genrnn/model.hpp"

namespace genrnn {

struct EvalResult {
  double loss = 0;  // mean cross-entropy, nats per token
  double bits_per_token = 0;
  double perplexity = 0;
  int64_t tokens = 0;  // tokens predicted: ids.size() - 1
};

// Predicts every token of `ids` from all tokens before it, as one stream from a zero state.
EvalResult evaluate(const Model& model, const std::vector<int>& ids, Device device);

}  // namespace genrnn
