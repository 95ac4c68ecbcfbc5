#pragma once
#include <string>

namespace genrnn {

std::string version();

// What this build of the library was compiled against.
struct BuildInfo {
  bool cuda = false;  // built with the CUDA engines; when not, `no_cuda_reason` says why
  std::string no_cuda_reason;
  std::string cuda_runtime;        // e.g. "13.0"
  std::string cudnn;               // header version, e.g. "9.19.0"
  std::string cudnn_loaded;        // version of the libcudnn found at run time
  std::string cuda_architectures;  // e.g. "80;90"
  std::string blas;                // CPU GEMM library
  std::string cpu_cell_loops;      // the CPU engine's cell loops here: "avx2+fma" or "baseline"
  std::string cpu_products;        // what the CPU engine's matrix products run on: "onednn" or "openblas"
};
BuildInfo build_info();

}  // namespace genrnn
