#include "genrnn/version.hpp"

#include <cblas.h>

#include "core/cuda_build.hpp"
#include "cpu/cell_loops.hpp"
#include "cpu/matrix_products.hpp"

namespace genrnn {

std::string version() { return GENRNN_VERSION; }

BuildInfo build_info() {
  BuildInfo info;
  describe_cuda_build(info);
  info.blas = openblas_get_config();
  info.cpu_cell_loops = cpu::cell_loops_build();
  info.cpu_products = cpu::matrix_products_build();
  return info;
}

}  // namespace genrnn
