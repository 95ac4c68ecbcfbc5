#include "tests/gpu/gpu_test_support.hpp"

#include "genrnn/device.hpp"

namespace genrnn::testing {

bool gpu_usable(std::string& why) { return !list_gpus(&why).empty(); }

bool on_host_executor() {
  const auto gpus = list_gpus();
  return !gpus.empty() && gpus.front().name == "host SIMT executor";
}

}  // namespace genrnn::testing
