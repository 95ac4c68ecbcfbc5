#include "genrnn/evaluate.hpp"

#include <algorithm>
#include <cmath>

#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"
#include "genrnn/token_file.hpp"

namespace genrnn {

EvalResult evaluate(const Model& model, const Corpus& ids, const EngineOptions& options) {
  require_vocabulary(ids, model.tokenizer, "the model's");
  if (ids.size() < 2) throw Error("the text has fewer than 2 tokens: nothing to predict");
  EvalResult result;
  result.engine = choose_engine(options, model.config, EngineRole::training).engine;
  auto engine = make_training_engine(result.engine, model.config, options);
  engine->set_parameters(model.parameters);
  engine->set_state({1, {}, {}});
  // One stream, carried across chunks: the chunk length only bounds memory, not the result.
  constexpr int64_t chunk = 512;
  const int64_t predicted = ids.size() - 1;
  TokenWindow window;
  double total = 0;
  for (int64_t start = 0; start < predicted; start += chunk) {
    const auto length = std::min(chunk, predicted - start);
    window.batch = 1;
    window.seq_len = static_cast<int>(length);
    window.inputs.resize(static_cast<std::size_t>(length));
    window.targets.resize(static_cast<std::size_t>(length));
    for (int64_t i = 0; i < length; ++i) {
      window.inputs[i] = ids[start + i];
      window.targets[i] = ids[start + i + 1];
    }
    total += engine->eval_window(window);
    ids.release(start, length);  // a token file's pages, read
  }
  result.tokens = predicted;
  result.loss = total / static_cast<double>(predicted);
  result.bits_per_token = result.loss / std::log(2.0);
  result.perplexity = std::exp(result.loss);
  return result;
}

}  // namespace genrnn
