#include "genrnn/version.hpp"

#include <cblas.h>

#include "core/cuda_build.hpp"

namespace genrnn {

std::string version() { return GENRNN_VERSION; }

BuildInfo build_info() {
  BuildInfo info;
  describe_cuda_build(info);
  info.blas = openblas_get_config();
  return info;
}

}  // namespace genrnn
