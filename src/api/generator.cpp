#include "genrnn/generator.hpp"

#include <algorithm>
#include <map>

#include "core/cell_table.hpp"
#include "core/nvtx_range.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {

namespace {

// Rows `streams` of a layer-major state ([layer][stream][unit]) of `batch` streams.
std::vector<float> select_streams(const std::vector<float>& values, int batch, const std::vector<int>& streams,
                                  int layers, int hidden) {
  if (values.empty()) return values;
  std::vector<float> selected;
  for (int l = 0; l < layers; ++l)
    for (int s : streams) {
      const auto row = values.begin() + (static_cast<std::ptrdiff_t>(l) * batch + s) * hidden;
      selected.insert(selected.end(), row, row + hidden);
    }
  return selected;
}

// Writes `part` (the state of `streams`, in that order) into `whole` ([layer][batch][unit]);
// nothing for an empty part (the c of a cell without one).
void place_streams(const std::vector<float>& part, const std::vector<int>& streams, int batch, int layers, int hidden,
                   std::vector<float>& whole) {
  if (part.empty()) return;
  const auto count = static_cast<std::ptrdiff_t>(streams.size());
  for (int l = 0; l < layers; ++l)
    for (std::ptrdiff_t k = 0; k < count; ++k)
      std::copy_n(part.begin() + (l * count + k) * hidden, hidden,
                  whole.begin() + (static_cast<std::ptrdiff_t>(l) * batch + streams[k]) * hidden);
}

}  // namespace

Generator::Generator(Model model, const EngineOptions& options) : model_(std::move(model)) {
  engine_ =
      make_decoding_engine(choose_engine(options, model_.config, EngineRole::decoding).engine, model_.config, options);
  engine_->set_parameters(model_.parameters);
}

Generator::Generator(Model model, Device device, const std::string& engine)
    : Generator(std::move(model), EngineOptions{device, engine}) {}

Generator::~Generator() = default;

const std::string& Generator::engine_name() const { return engine_->name(); }

std::vector<std::string> Generator::generate(const std::string& prompt, const GenerateOptions& options,
                                             const TokenCallback& on_token, const RecurrentState* initial) {
  if (options.num_samples < 1 || options.num_samples > limits::max_streams)
    throw Error("num-samples must be in [1, " + std::to_string(limits::max_streams) + "], not " +
                std::to_string(options.num_samples));
  std::vector<StreamRequest> requests(options.num_samples);
  for (int k = 0; k < options.num_samples; ++k)
    requests[k] = {prompt, options.sampling.seed, static_cast<uint64_t>(k), options.length, options.stop};
  return run(requests, options, on_token, initial);
}

std::vector<std::string> Generator::generate(const std::vector<StreamRequest>& requests, const GenerateOptions& options,
                                             const TokenCallback& on_token) {
  return run(requests, options, on_token, nullptr);
}

RecurrentState Generator::state_after(const std::string& text, UnknownPolicy unknown, const RecurrentState* initial) {
  if (initial && initial->batch != 1)
    throw Error("the initial state has " + std::to_string(initial->batch) + " streams; reading a text takes 1");
  const std::vector<int> ids = model_.tokenizer.encode(text, unknown);
  if (ids.empty()) throw Error("the text is empty: give at least one token to read");
  engine_->set_state(initial ? *initial : RecurrentState{1, {}, {}});
  std::vector<float> logits;
  engine_->prefill(ids, logits);
  return engine_->state();
}

std::vector<std::string> Generator::run(const std::vector<StreamRequest>& requests, const GenerateOptions& options,
                                        const TokenCallback& on_token, const RecurrentState* initial) {
  // options.sampling is checked once, where decoding starts (DecodingEngine::decode).
  const int streams = static_cast<int>(requests.size());
  if (streams < 1 || streams > limits::max_streams)
    throw Error("a batch has 1 to " + std::to_string(limits::max_streams) + " streams, not " + std::to_string(streams));
  if (initial && initial->batch != streams)
    throw Error("the initial state has " + std::to_string(initial->batch) + " streams; the batch has " +
                std::to_string(streams));
  // Streams with the same prompt share one prefill.
  std::map<std::vector<int>, std::vector<int>> groups;
  int length = 0;
  for (int s = 0; s < streams; ++s) {
    if (requests[s].length < 1) throw Error("the length to generate must be at least 1");
    length = std::max(length, requests[s].length);
    if (requests[s].prompt.size() > limits::max_prompt_bytes)
      throw Error("the prompt is " + std::to_string(requests[s].prompt.size()) + " bytes; the limit is " +
                  std::to_string(limits::max_prompt_bytes));
    auto ids = model_.tokenizer.encode(requests[s].prompt, options.unknown);
    if (ids.empty()) throw Error("the prompt is empty: give at least one token to start from");
    groups[std::move(ids)].push_back(s);
  }

  const int layers = model_.config.num_layers, hidden = model_.config.hidden_size, vocab = model_.config.vocab_size;
  const RecurrentState zero{streams, {}, {}};
  const RecurrentState& start = initial ? *initial : zero;
  std::vector<float> logits(static_cast<std::size_t>(streams) * vocab);
  RecurrentState prefilled{streams, std::vector<float>(static_cast<std::size_t>(layers) * streams * hidden), {}};
  if (has_cell_state(model_.config)) prefilled.c = prefilled.h;
  for (const auto& [prompt, members] : groups) {
    const int count = static_cast<int>(members.size());
    engine_->set_state({count, select_streams(start.h, streams, members, layers, hidden),
                        select_streams(start.c, streams, members, layers, hidden)});
    std::vector<int> prompts;
    for (int k = 0; k < count; ++k) prompts.insert(prompts.end(), prompt.begin(), prompt.end());
    std::vector<float> group_logits;
    engine_->prefill(prompts, group_logits);
    if (groups.size() == 1) {  // the engine already holds the whole batch's state
      logits = std::move(group_logits);
      break;
    }
    const RecurrentState state = engine_->state();
    place_streams(state.h, members, streams, layers, hidden, prefilled.h);
    place_streams(state.c, members, streams, layers, hidden, prefilled.c);
    for (int k = 0; k < count; ++k)
      std::copy_n(group_logits.begin() + static_cast<std::ptrdiff_t>(k) * vocab, vocab,
                  logits.begin() + static_cast<std::ptrdiff_t>(members[k]) * vocab);
  }
  if (groups.size() > 1) engine_->set_state(prefilled);

  NvtxRange range("decode");
  std::vector<DrawKey> keys(streams);
  std::vector<int> previous(streams);
  for (const auto& [prompt, members] : groups)
    for (int s : members) previous[s] = prompt.back();
  for (int s = 0; s < streams; ++s) keys[s] = {requests[s].seed, requests[s].stream};
  std::vector<std::string> texts(streams);
  std::vector<bool> done(streams, false);
  int running = streams;
  const DecodeStats stats =
      engine_->decode(logits, length, options.sampling, keys, [&](int first_position, int positions, const int* ids) {
        for (int p = 0; p < positions; ++p)
          for (int s = 0; s < streams; ++s) {
            if (done[s]) continue;
            const int token = ids[static_cast<std::size_t>(p) * streams + s];
            std::string piece = model_.tokenizer.piece(previous[s], token);
            previous[s] = token;
            const std::size_t before = texts[s].size();
            texts[s] += piece;
            const std::string& stop = requests[s].stop;
            bool finished = first_position + p + 1 >= requests[s].length;
            if (!stop.empty()) {
              // Only the tail can hold a stop string that this piece completed.
              const std::size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
              const std::size_t at = texts[s].find(stop, from);
              if (at != std::string::npos) {
                texts[s].resize(at + stop.size());
                piece.resize(texts[s].size() - before);
                finished = true;
              }
            }
            if (on_token) on_token(s, token, piece);
            if (finished) {
              done[s] = true;
              --running;
            }
          }
        return running > 0;
      });
  last_decode_ = {stats.decoder, stats.note};
  return texts;
}

}  // namespace genrnn
