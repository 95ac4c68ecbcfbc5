#pragma once
#include <gtest/gtest.h>

#include <string>

namespace genrnn::testing {

// True when the CUDA runtime reports a usable GPU; otherwise `why` says what it reported.
bool gpu_usable(std::string& why);

}  // namespace genrnn::testing

// First statement of every GPU test: skips it, with the runtime's reason, on machines without one.
#define GENRNN_REQUIRE_GPU()                                   \
  do {                                                         \
    std::string why_no_gpu;                                    \
    if (!::genrnn::testing::gpu_usable(why_no_gpu))            \
      GTEST_SKIP() << "no usable GPU: " << why_no_gpu;         \
  } while (0)
