#include "genrnn/version.hpp"

#include <cblas.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace genrnn {

std::string version() { return GENRNN_VERSION; }

BuildInfo build_info() {
  BuildInfo info;
  info.cuda_runtime = std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10);
  info.cudnn = GENRNN_CUDNN_VERSION;
  // cuDNN 9 encodes its version as major * 10000 + minor * 100 + patch.
  const std::size_t loaded = cudnnGetVersion();
  info.cudnn_loaded = std::to_string(loaded / 10000) + "." + std::to_string(loaded % 10000 / 100) +
                      "." + std::to_string(loaded % 100);
  info.cuda_architectures = GENRNN_CUDA_ARCHITECTURES;
  info.blas = openblas_get_config();
  return info;
}

}  // namespace genrnn
