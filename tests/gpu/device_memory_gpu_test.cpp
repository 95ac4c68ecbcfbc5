// What a device or page-locked allocation too large for the machine says: how much it asked for,
// and on the device how much was free. Skips without a GPU; runs on the host SIMT executor too.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>

#include "cuda/device_buffer.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/error_of.hpp"

namespace genrnn {
namespace {

constexpr std::size_t tebibyte_of_floats = std::size_t{1} << 38;

TEST(DeviceMemory, TooLargeABufferSaysWhatItAskedAndWhatIsFree) {
  GENRNN_REQUIRE_GPU();
  const std::string message = testing::error_of([] { cuda::DeviceBuffer<float>(tebibyte_of_floats, nullptr); });
  EXPECT_EQ(message.rfind("out of GPU memory: asked for 1.0 TiB with ", 0), 0u) << message;
  EXPECT_NE(message.find(" free of "), std::string::npos) << message;
  // The failure leaves no error behind: the next allocation works.
  cuda::DeviceBuffer<float> small(256, nullptr);
  EXPECT_NE(small.data(), nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(DeviceMemory, TooLargeAPinnedBufferSaysWhatItAsked) {
  GENRNN_REQUIRE_GPU();
  cuda::PinnedBuffer<float> buffer;
  const std::string message = testing::error_of([&] { buffer.reserve(tebibyte_of_floats); });
  EXPECT_EQ(message.rfind("out of memory for page-locked host memory: 1.0 TiB needed", 0), 0u) << message;
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace
}  // namespace genrnn
