#pragma once
#include <string>
#include <vector>

namespace genrnn {

// "a", "a or b", "a, b or c": the choices an error message lists.
inline std::string one_of(const std::vector<std::string>& choices) {
  std::string text;
  for (std::size_t k = 0; k < choices.size(); ++k)
    text += (k == 0 ? "" : k + 1 == choices.size() ? " or " : ", ") + choices[k];
  return text;
}

}  // namespace genrnn
