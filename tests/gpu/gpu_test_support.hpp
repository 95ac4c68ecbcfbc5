#pragma once
#include <gtest/gtest.h>

#include <string>

namespace genrnn::testing {

// True when the CUDA runtime reports a usable GPU; otherwise `why` says what it reported.
bool gpu_usable(std::string& why);
// True when the "GPU" is the host SIMT executor (tests/simt): it runs every kernel, slowly, so
// tests size their heaviest cases down there (still past one block and off multiples of 32).
bool on_host_executor();
// `gpu` on a GPU, `executor` on the host SIMT executor.
template <class T>
T sized(T gpu, T executor) {
  return on_host_executor() ? executor : gpu;
}

}  // namespace genrnn::testing

// First statement of every GPU test: skips it, with the runtime's reason, on machines without one.
#define GENRNN_REQUIRE_GPU()                                                                         \
  do {                                                                                               \
    std::string why_no_gpu;                                                                          \
    if (!::genrnn::testing::gpu_usable(why_no_gpu)) GTEST_SKIP() << "no usable GPU: " << why_no_gpu; \
  } while (0)

// First statement of a test of one engine: a GPU, and for cudnn one that is not the host
// SIMT executor, which does not emulate cuDNN.
#define GENRNN_REQUIRE_ENGINE(engine)                                            \
  do {                                                                           \
    GENRNN_REQUIRE_GPU();                                                        \
    if (std::string(engine) == "cudnn" && ::genrnn::testing::on_host_executor()) \
      GTEST_SKIP() << "cuDNN is not emulated on the host SIMT executor";         \
  } while (0)
