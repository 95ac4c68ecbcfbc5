#pragma once
// Stop texts as automata over token ids (kernels/stop_automaton.cuh), for the beam searches
// that run on an engine's device: the tables that say, for each state of a stop text's match
// and each token, where the token's text (and a space before it) leaves the match.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/beam_plan.hpp"
#include "genrnn/tokenizer.hpp"

namespace genrnn {

// `stop` not empty.
StopTable stop_table(const Tokenizer& tokenizer, const std::string& stop);
// Each token's math::kNoSpaceAfter and math::kNoSpaceBefore, as Tokenizer::piece joins them.
std::vector<uint8_t> token_flags(const Tokenizer& tokenizer);

}  // namespace genrnn
