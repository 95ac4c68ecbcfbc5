#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/device.hpp"
#include "genrnn/model.hpp"

namespace genrnn {

struct EvalResult {
  double loss = 0;  // mean cross-entropy, nats per token
  double bits_per_token = 0;
  double perplexity = 0;
  int64_t tokens = 0;  // tokens predicted: ids.size() - 1
  std::string engine;  // the engine that computed it
};

// Predicts every token of `ids` from all tokens before it, as one stream from a zero state, on
// the engine `options` choose (see choose_engine).
EvalResult evaluate(const Model& model, const std::vector<int>& ids, const EngineOptions& options);
inline EvalResult evaluate(const Model& model, const std::vector<int>& ids, Device device,
                           const std::string& engine = "auto") {
  return evaluate(model, ids, EngineOptions{device, engine});
}

}  // namespace genrnn
