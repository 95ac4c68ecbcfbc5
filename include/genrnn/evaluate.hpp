#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/corpus.hpp"
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
// the engine `options` choose (see choose_engine). `ids`: ids in memory (a std::vector<int>
// converts) or a token file (open_token_file), read a window at a time, whose vocabulary must be
// the model's (else Error).
EvalResult evaluate(const Model& model, const Corpus& ids, const EngineOptions& options);
inline EvalResult evaluate(const Model& model, const Corpus& ids, Device device, const std::string& engine = "auto") {
  return evaluate(model, ids, EngineOptions{device, engine});
}

}  // namespace genrnn
