#pragma once
// The message of the genrnn::Error a call throws: what the tests of error messages compare.
#include <string>

#include "genrnn/error.hpp"

namespace genrnn::testing {

// The message of the Error that `call` throws, or "nothing thrown".
template <class Call>
std::string error_of(Call&& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return "nothing thrown";
}

}  // namespace genrnn::testing
