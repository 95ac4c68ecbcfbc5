#include "genrnn/generator.hpp"

#include <numeric>

#include "core/nvtx_range.hpp"
#include "engine/engine.hpp"
#include "genrnn/error.hpp"

namespace genrnn {

Generator::Generator(const Model& model, Device device, const std::string& engine) : model_(model) {
  engine_name_ = choose_engine(device, engine).engine;
  engine_ = make_engine(engine_name_, model.config);
  engine_->set_parameters(model.parameters);
}

Generator::~Generator() = default;

const std::string& Generator::engine_name() const { return engine_name_; }

std::vector<std::string> Generator::generate(const std::string& prompt, const GenerateOptions& options,
                                             const TokenCallback& on_token, const RecurrentState* initial) {
  options.sampling.validate();
  if (options.length < 1) throw Error("the length to generate must be at least 1");
  if (options.num_samples < 1 || options.num_samples > 4096)
    throw Error("num-samples must be in [1, 4096], not " + std::to_string(options.num_samples));
  const std::vector<int> prompt_ids = model_.tokenizer.encode(prompt, options.unknown);
  if (prompt_ids.empty()) throw Error("the prompt is empty: give at least one token to start from");
  const int streams = options.num_samples;
  if (initial && initial->batch != streams)
    throw Error("the initial state has " + std::to_string(initial->batch) + " streams; num-samples is " +
                std::to_string(streams));
  engine_->set_state(initial ? *initial : RecurrentState{streams, {}, {}});

  std::vector<int> prompts;
  for (int s = 0; s < streams; ++s) prompts.insert(prompts.end(), prompt_ids.begin(), prompt_ids.end());
  std::vector<float> logits;
  engine_->prefill(prompts, streams, logits);

  NvtxRange range("decode");
  std::vector<uint64_t> stream_ids(streams);
  std::iota(stream_ids.begin(), stream_ids.end(), 0);
  std::vector<int> previous(streams, prompt_ids.back());
  std::vector<std::string> texts(streams);
  std::vector<bool> stopped(streams, false);
  int running = streams;
  engine_->decode(logits, options.length, options.sampling, stream_ids, [&](int, int positions, const int* ids) {
    for (int p = 0; p < positions; ++p)
      for (int s = 0; s < streams; ++s) {
        if (stopped[s]) continue;
        const int token = ids[static_cast<std::size_t>(p) * streams + s];
        std::string piece = model_.tokenizer.piece(previous[s], token);
        previous[s] = token;
        const std::size_t before = texts[s].size();
        texts[s] += piece;
        if (!options.stop.empty()) {
          // Only the tail can hold a stop string that this piece completed.
          const std::size_t from = before >= options.stop.size() ? before - options.stop.size() + 1 : 0;
          const std::size_t at = texts[s].find(options.stop, from);
          if (at != std::string::npos) {
            texts[s].resize(at + options.stop.size());
            piece.resize(texts[s].size() - before);
            stopped[s] = true;
            --running;
          }
        }
        if (on_token) on_token(s, token, piece);
      }
    return running > 0;
  });
  return texts;
}

}  // namespace genrnn
