#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genrnn/device.hpp"
#include "genrnn/model.hpp"
#include "genrnn/sampling.hpp"
#include "genrnn/state.hpp"

namespace genrnn {

class DecodingEngine;

// The defaults here (and SamplingOptions') are everyone's: gen_cuda sample's flags and the Python
// package's arguments read them.
struct GenerateOptions {
  int length = 200;     // tokens generated after the prompt, per stream
  int num_samples = 1;  // independent streams, generated as one batch
  SamplingOptions sampling;
  UnknownPolicy unknown = UnknownPolicy::error;
  // A stream ends once its generated text contains `stop` (kept, and nothing after it).
  std::string stop;
  // Beam search instead of sampling when >= 1: the beam_width likeliest hypotheses are kept at
  // each step (1: greedy), and the num_samples best (at most beam_width) are returned, best
  // first. Deterministic: `sampling` is not used.
  int beam_width = 0;
  // Beam search: a hypothesis scores its log-probability over ((5 + tokens) / 6)^length_penalty
  // (GNMT's; 0: none, > 0 favours longer ones).
  float length_penalty = 0;
};

// A generated text with its token ids and its log-probability under the model (temperature 1).
struct GeneratedText {
  std::string text;
  std::vector<int> ids;
  double logprob = 0;
  double score = 0;  // beam search: logprob over the length penalty; sampling: logprob
};

// One stream of a batch: its own prompt, randomness, length and stop string. Its tokens are
// drawn with Philox keyed by (seed, stream), so the same request gives the same text whatever
// batch it runs in.
struct StreamRequest {
  std::string prompt;
  uint64_t seed = 0;
  uint64_t stream = 0;
  int length = 200;
  std::string stop;  // ends the stream once its text contains it (kept); empty: none
};

// How a generate call decoded.
struct DecodeInfo {
  std::string decoder;  // "cpu", "graph" or "persistent"
  std::string note;     // why not the decoder asked for, when another one ran; empty otherwise
};

// Called once per generated token: the stream, the token id and its text piece.
using TokenCallback = std::function<void(int stream, int token, const std::string& piece)>;

// Runs the prompt through the model once, then generates token by token, carrying the state.
class Generator {
 public:
  // The generator keeps its own copy of `model` (moved in where it can be).
  Generator(Model model, const EngineOptions& options);
  // `engine`: "auto" or a registered engine (see choose_engine).
  Generator(Model model, Device device, const std::string& engine = "auto");
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  const std::string& engine_name() const;
  // The decoder of the last generate call.
  const DecodeInfo& last_decode() const { return last_decode_; }
  // Returns each stream's generated text (without the prompt). Generation ends at `length`
  // tokens, or when every stream has met options.stop. `initial` replaces the zero
  // state the prompt starts from (e.g. an encoder's output); its batch must be num_samples.
  // Stream k draws with (options.sampling.seed, k).
  std::vector<std::string> generate(const std::string& prompt, const GenerateOptions& options,
                                    const TokenCallback& on_token = {}, const RecurrentState* initial = nullptr);
  // As generate() above, each output with its ids and log-probability: the samples in order, or
  // the beam search's best first. A beam search's `initial` has one stream.
  std::vector<GeneratedText> generate_scored(const std::string& prompt, const GenerateOptions& options,
                                             const RecurrentState* initial = nullptr);
  // Up to 4096 streams with their own prompts, seeds, lengths and stop strings, as one batch;
  // temperature, top-k, top-p and the unknown-token policy come from `options` (its length,
  // num_samples, seed and stop are not used). Returns each stream's generated text. With
  // options.beam_width, each request's best hypothesis (its own beams, beside the others' in one
  // batch).
  std::vector<std::string> generate(const std::vector<StreamRequest>& requests, const GenerateOptions& options,
                                    const TokenCallback& on_token = {});
  // The state after reading `text` as one stream from `initial` (zeros when null; batch 1): to
  // hand to generate() later, or to read. Every engine gives the same state (within rounding).
  RecurrentState state_after(const std::string& text, UnknownPolicy unknown, const RecurrentState* initial = nullptr);

 private:
  std::vector<std::string> run(const std::vector<StreamRequest>& requests, const GenerateOptions& options,
                               const TokenCallback& on_token, const RecurrentState* initial);
  // Each request's `best` hypotheses (options' beam width and length penalty; the request's
  // prompt, length and stop), its beams beside the others' in one batch.
  std::vector<std::vector<GeneratedText>> search(const std::vector<StreamRequest>& requests,
                                                 const GenerateOptions& options, int best,
                                                 const RecurrentState* initial);

  Model model_;
  std::unique_ptr<DecodingEngine> engine_;
  DecodeInfo last_decode_;
};

}  // namespace genrnn
