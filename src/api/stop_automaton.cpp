#include "api/stop_automaton.hpp"

#include "kernels/stop_automaton.cuh"

namespace genrnn {

StopTable stop_table(const Tokenizer& tokenizer, const std::string& stop) {
  const int length = static_cast<int>(stop.size()), vocab = tokenizer.size();
  // Knuth-Morris-Pratt over bytes: bytes[s * 256 + c] is the state after byte c in state s.
  std::vector<int> bytes(static_cast<std::size_t>(length) * 256);
  std::vector<int> fallback(length, 0);  // the longest proper border of stop[0 .. s]
  for (int s = 1, border = 0; s < length; ++s) {
    while (border > 0 && stop[s] != stop[border]) border = fallback[border - 1];
    if (stop[s] == stop[border]) ++border;
    fallback[s] = border;
  }
  for (int s = 0; s < length; ++s)
    for (int c = 0; c < 256; ++c) {
      int state = s;
      while (state > 0 && static_cast<unsigned char>(stop[state]) != c) state = fallback[state - 1];
      bytes[s * 256 + c] = static_cast<unsigned char>(stop[state]) == c ? state + 1 : 0;
    }
  StopTable table{length, std::vector<int>(static_cast<std::size_t>(length) * vocab), std::vector<int>(length)};
  for (int s = 0; s < length; ++s) {
    table.after_space[s] = bytes[s * 256 + ' '];
    for (int v = 0; v < vocab; ++v) {
      int state = s;
      for (const char byte : tokenizer.tokens()[v]) {
        state = bytes[state * 256 + static_cast<unsigned char>(byte)];
        if (state == length) break;
      }
      table.transitions[static_cast<std::size_t>(s) * vocab + v] = state;
    }
  }
  return table;
}

std::vector<uint8_t> token_flags(const Tokenizer& tokenizer) {
  std::vector<uint8_t> flags(tokenizer.size());
  for (int v = 0; v < tokenizer.size(); ++v)
    flags[v] =
        (tokenizer.spaced_after(v) ? 0 : math::kNoSpaceAfter) | (tokenizer.spaced_before(v) ? 0 : math::kNoSpaceBefore);
  return flags;
}

}  // namespace genrnn
