#pragma once
// The switches genrnn reads from the environment (GENRNN_CPU_GEMM, GENRNN_CPU_LOOPS,
// GENRNN_CUDA_GRAPHS), all read the same way. Header-only: gen_cuda reads one too.
#include <cstdlib>
#include <string_view>

namespace genrnn {

// Whether the environment variable `name` is set to exactly `value`; false where it is unset.
inline bool env_equals(const char* name, std::string_view value) {
  const char* setting = std::getenv(name);
  return setting != nullptr && value == setting;
}

}  // namespace genrnn
