#pragma once
// Stop strings, as text grows a token at a time (Generator, beam search, the serving scheduler).
#include <cstddef>
#include <string>

namespace genrnn {

// Where `stop` first starts in `text`, looking only where the last `added` bytes could have
// completed it (the text before held none); npos for none, and for an empty `stop`.
inline std::size_t find_new_stop(const std::string& text, std::size_t added, const std::string& stop) {
  if (stop.empty()) return std::string::npos;
  const std::size_t before = text.size() - added;
  return text.find(stop, before >= stop.size() ? before - stop.size() + 1 : 0);
}

}  // namespace genrnn
