#pragma once
// Beam search and scoring over any decoding engine. An engine that searches on its own device
// (DecodingEngine::searches_beams: the GPU engines) runs the steps there, for widths up to
// kMaxDeviceBeamWidth; on any other, or wider, each
// step reads the beams' logits and gathers each new beam's state from its parent on the host
// (rows_of). Both rank in the same order and keep the same hypotheses. Deterministic: no draw,
// ties broken by beam, then token id.
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "genrnn/generator.hpp"
#include "genrnn/tokenizer.hpp"

namespace genrnn {

struct BeamRequest {
  std::vector<int> prompt;   // at least one token
  RecurrentState initial;    // one stream; empty h: zeros
  int width = 4;             // hypotheses kept at each step
  int length = 200;          // tokens after the prompt
  float length_penalty = 0;  // scores are log-probabilities over ((5 + tokens) / 6)^length_penalty
  std::string stop;          // a hypothesis whose text contains it ends there (kept)
  int best = 1;              // hypotheses returned, at most width
};

// For each request, its `best` highest-scoring hypotheses, best first: each ends at its stop text
// or at `length` tokens. The requests' beams run as one batch, each request ranking its own;
// a request's outputs do not depend on the others. The engine's state is then unspecified.
std::vector<std::vector<GeneratedText>> beam_search(DecodingEngine& engine, const Tokenizer& tokenizer,
                                                    const std::vector<BeamRequest>& requests);

// The log-probability under the model (temperature 1) of each continuation after `prompt`,
// from `initial` (one stream; empty h: zeros). Leaves the engine's state as it left it.
std::vector<double> continuation_logprobs(DecodingEngine& engine, const std::vector<int>& prompt,
                                          const RecurrentState& initial,
                                          const std::vector<std::vector<int>>& continuations);

}  // namespace genrnn
