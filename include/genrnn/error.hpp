#pragma once
#include <stdexcept>
#include <string>

namespace genrnn {

// Every failure the library reports: what failed and why, in one line fit for a user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace genrnn
