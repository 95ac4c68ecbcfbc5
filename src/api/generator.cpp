#include "genrnn/generator.hpp"

#include <algorithm>
#include <numeric>

#include "api/beam_search.hpp"
#include "core/nvtx_range.hpp"
#include "core/stop_text.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {
namespace {

// A beam search's output, token by token, once it is known (`previous`: the prompt's last id);
// the pieces add up to its text, whose stop string may end inside the last.
void report_tokens(const Tokenizer& tokenizer, int previous, int stream, const GeneratedText& output,
                   const TokenCallback& on_token) {
  if (!on_token) return;
  std::size_t emitted = 0;
  for (int id : output.ids) {
    std::string piece = tokenizer.piece(previous, id);
    piece.resize(std::min(piece.size(), output.text.size() - emitted));
    emitted += piece.size();
    previous = id;
    on_token(stream, id, piece);
  }
}

// A request's prompt as ids: within the byte limit, and not empty.
std::vector<int> prompt_ids(const Tokenizer& tokenizer, const std::string& prompt, UnknownPolicy unknown) {
  if (prompt.size() > limits::max_prompt_bytes)
    throw Error("the prompt is " + std::to_string(prompt.size()) + " bytes; the limit is " +
                std::to_string(limits::max_prompt_bytes));
  std::vector<int> ids = tokenizer.encode(prompt, unknown);
  if (ids.empty()) throw Error("the prompt is empty: give at least one token to start from");
  return ids;
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
  if (options.beam_width > 0) {
    std::vector<std::string> texts;
    const std::vector<GeneratedText> outputs = generate_scored(prompt, options, initial);
    const int previous = on_token ? model_.tokenizer.encode(prompt, options.unknown).back() : -1;
    for (const GeneratedText& output : outputs) {
      report_tokens(model_.tokenizer, previous, static_cast<int>(texts.size()), output, on_token);
      texts.push_back(output.text);
    }
    return texts;
  }
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
  if (options.beam_width == 0) return run(requests, options, on_token, nullptr);
  const std::vector<std::vector<GeneratedText>> best = search(requests, options, 1, nullptr);
  std::vector<std::string> texts;
  for (std::size_t k = 0; k < requests.size(); ++k) {
    if (on_token)
      report_tokens(model_.tokenizer, model_.tokenizer.encode(requests[k].prompt, options.unknown).back(),
                    static_cast<int>(k), best[k].front(), on_token);
    texts.push_back(best[k].front().text);
  }
  return texts;
}

std::vector<GeneratedText> Generator::generate_scored(const std::string& prompt, const GenerateOptions& options,
                                                      const RecurrentState* initial) {
  if (options.beam_width > 0)
    return search({StreamRequest{prompt, 0, 0, options.length, options.stop}}, options, options.num_samples, initial)
        .front();
  std::vector<std::vector<int>> ids(static_cast<std::size_t>(std::max(0, options.num_samples)));
  const std::vector<std::string> texts = generate(
      prompt, options, [&](int stream, int token, const std::string&) { ids[stream].push_back(token); }, initial);
  const std::vector<double> logprobs = continuation_logprobs(*engine_, model_.tokenizer.encode(prompt, options.unknown),
                                                             initial ? *initial : RecurrentState{}, ids);
  std::vector<GeneratedText> outputs;
  for (std::size_t k = 0; k < texts.size(); ++k) outputs.push_back({texts[k], ids[k], logprobs[k], logprobs[k]});
  return outputs;
}

std::vector<std::vector<GeneratedText>> Generator::search(const std::vector<StreamRequest>& requests,
                                                          const GenerateOptions& options, int best,
                                                          const RecurrentState* initial) {
  // beam_search checks the rest: the initial state's streams, the width, the length.
  std::vector<BeamRequest> searches;
  for (const StreamRequest& request : requests) {
    searches.push_back({prompt_ids(model_.tokenizer, request.prompt, options.unknown),
                        initial ? *initial : RecurrentState{}, options.beam_width, request.length,
                        options.length_penalty, request.stop, best});
  }
  NvtxRange range("beam search");
  return beam_search(*engine_, model_.tokenizer, searches);
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
  std::vector<std::vector<int>> prompts(streams);
  int length = 0;
  for (int s = 0; s < streams; ++s) {
    if (requests[s].length < 1) throw Error("the length to generate must be at least 1");
    length = std::max(length, requests[s].length);
    prompts[s] = prompt_ids(model_.tokenizer, requests[s].prompt, options.unknown);
  }
  engine_->set_state(initial ? *initial : RecurrentState{streams, {}, {}});
  std::vector<int> slots(streams);
  std::iota(slots.begin(), slots.end(), 0);
  std::vector<float> logits;
  engine_->prefill_slots(slots, prompts, /*fresh=*/false, logits);  // each from the state it starts from

  NvtxRange range("decode");
  std::vector<DrawKey> keys(streams);
  std::vector<int> previous(streams);
  for (int s = 0; s < streams; ++s) {
    keys[s] = {requests[s].seed, requests[s].stream};
    previous[s] = prompts[s].back();
  }
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
            const std::size_t at = find_new_stop(texts[s], piece.size(), stop);
            if (at != std::string::npos) {
              texts[s].resize(at + stop.size());
              piece.resize(texts[s].size() - before);
              finished = true;
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
