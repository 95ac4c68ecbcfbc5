#pragma once
// A stop text as an automaton over token ids, so that a beam search on the device can tell a
// hypothesis that has just written its stop text without reading any text. The states are the
// bytes of the stop text matched so far (Knuth-Morris-Pratt's), 0 to length - 1; `length` is the
// text having appeared. A token's bytes follow a space where the word tokenizer puts one (see
// Tokenizer::piece): never between characters, and between words unless the earlier one opens
// (a newline, "([{") or the later one closes ("\n.,!?;:)]}%'"). The tables are built on the host
// (src/api/stop_automaton.cpp); the CPU's search reads the text itself.
#include <stdint.h>

#include "kernels/host_device.cuh"

namespace genrnn::math {

// A token's flags, [vocab] of them: whether no space follows it, and whether none comes before it.
constexpr uint8_t kNoSpaceAfter = 1;
constexpr uint8_t kNoSpaceBefore = 2;

// One stop text's tables, `length` > 0 (no stop text: a search asks no automaton).
struct StopAutomaton {
  int length;
  int vocab;
  const int* transitions;      // [state][vocab]: the state after the token's own bytes
  const int* after_space;      // [state]: the state after one space
  const uint8_t* token_flags;  // [vocab]

  // The state after `token` follows `previous` (the id written before it) from `state`.
  GENRNN_HD int next(int state, int previous, int token) const {
    if (!(token_flags[previous] & kNoSpaceAfter) && !(token_flags[token] & kNoSpaceBefore)) {
      state = after_space[state];
      if (state == length) return length;
    }
    return transitions[static_cast<int64_t>(state) * vocab + token];
  }
};

}  // namespace genrnn::math
