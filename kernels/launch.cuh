#pragma once
// The one way this project launches a kernel: the launch is checked at once and a failure names
// the kernel, so a bad configuration never surfaces later at some unrelated call. (Faults inside
// a kernel still surface at the next synchronizing call, as CUDA reports them.) Compiled by g++
// for the host SIMT executor (tests/simt), the launch goes to the executor instead.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>

#include "genrnn/error.hpp"

namespace genrnn::kernels {

struct LaunchShape {
  dim3 blocks;
  dim3 threads;
  std::size_t shared_bytes = 0;
};

template <class... Parameters, class... Arguments>
void launch(const char* name, void (*kernel)(Parameters...), const LaunchShape& shape, cudaStream_t stream,
            Arguments&&... arguments) {
#if defined(__CUDACC__)
  kernel<<<shape.blocks, shape.threads, shape.shared_bytes, stream>>>(std::forward<Arguments>(arguments)...);
#else
  simt::launch(name, kernel, shape.blocks, shape.threads, shape.shared_bytes, stream,
               std::forward<Arguments>(arguments)...);
#endif
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw Error(std::string("launching kernel ") + name + " failed: " + cudaGetErrorName(status) + " (" +
                cudaGetErrorString(status) + ")");
}

}  // namespace genrnn::kernels
