#include "tests/gpu/gpu_test_support.hpp"

#include "genrnn/device.hpp"

namespace genrnn::testing {

bool gpu_usable(std::string& why) { return !list_gpus(&why).empty(); }

}  // namespace genrnn::testing
