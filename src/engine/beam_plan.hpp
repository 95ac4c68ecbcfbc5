#pragma once
// A batch of beam searches as an engine runs them on its own device (DecodingEngine::
// search_beams), and what it hands back: the trace of every step's choices, from which the
// caller (src/api/beam_search.cpp) writes the hypotheses' ids and texts. Texts never reach the
// device: a stop text goes there as an automaton over token ids (kernels/stop_automaton.cuh).
#include <cstdint>
#include <vector>

namespace genrnn {

// The widest beam an engine searches on its device: a request's selection is one block, whose
// work grows as width^3 log(width); wider searches run on the host (beam_search).
constexpr int kMaxDeviceBeamWidth = 64;

// A stop text's automaton tables (kernels/stop_automaton.cuh): `length` > 0 bytes.
struct StopTable {
  int length = 0;
  std::vector<int> transitions;  // [state][vocab]
  std::vector<int> after_space;  // [state]
};

// The searches: request r's beams are the engine's rows from the sum of the widths before it,
// each starting from the state its prompt left (which the caller has set).
struct BeamPlan {
  struct Request {
    int width = 1;
    int best = 1;      // hypotheses it returns (<= width)
    int length = 1;    // tokens after the prompt
    int stop = -1;     // its stop text's index in `stops`; -1: none
    int previous = 0;  // the prompt's last token
  };
  std::vector<Request> requests;
  std::vector<StopTable> stops;
  std::vector<uint8_t> token_flags;  // [vocab]: math::kNoSpaceAfter | math::kNoSpaceBefore
  std::vector<float> first_logits;   // [request][vocab]: after each prompt
};

// A hypothesis that ended at `step` as the extension of live beam `beam` by `token`.
struct EndedBeam {
  double logprob;
  int step;
  int beam;
  int token;
};

// What the searches chose: at step t, the request starting at row f kept live beam k as the
// extension of beam parents[t * rows + f + k] (its live beam of step t) by tokens[...]; at step
// 0 its only live beam is the prompt. ended[r] holds the hypotheses request r ended, in the
// order they were found, at most `best` per step: those that rank above the width-th
// continuing extension of their step (a step's others could not be among the best).
struct BeamTrace {
  int rows = 0;
  std::vector<int> parents, tokens;  // [step][rows]
  std::vector<std::vector<EndedBeam>> ended;
};

}  // namespace genrnn
