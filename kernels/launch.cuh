#pragma once
// The one way this project launches a kernel: the launch is checked at once and a failure names
// the kernel, so a bad configuration never surfaces later at some unrelated call. (Faults inside
// a kernel still surface at the next synchronizing call, as CUDA reports them.) Compiled by g++
// for the host SIMT executor (tests/simt), the launch goes to the executor instead.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "genrnn/error.hpp"

namespace genrnn::kernels {

struct LaunchShape {
  dim3 blocks;
  dim3 threads;
  std::size_t shared_bytes = 0;
};

namespace detail {

[[noreturn]] inline void launch_failed(const char* name, cudaError_t status) {
  throw Error(std::string("launching kernel ") + name + " failed: " + cudaGetErrorName(status) + " (" +
              cudaGetErrorString(status) + ")");
}

}  // namespace detail

template <class... Parameters, class... Arguments>
void launch(const char* name, void (*kernel)(Parameters...), const LaunchShape& shape, cudaStream_t stream,
            Arguments&&... arguments) {
#if defined(__CUDACC__)
  kernel<<<shape.blocks, shape.threads, shape.shared_bytes, stream>>>(std::forward<Arguments>(arguments)...);
#else
  simt::launch(name, false, kernel, shape.blocks, shape.threads, shape.shared_bytes, stream,
               std::forward<Arguments>(arguments)...);
#endif
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) detail::launch_failed(name, status);
}

// A cooperative launch: every block of the grid resident at once, so that the kernel may wait
// at cooperative_groups::this_grid().sync(). The grid must fit on the device at once
// (cudaErrorCooperativeLaunchTooLarge otherwise).
template <class... Parameters, class... Arguments>
void launch_cooperative(const char* name, void (*kernel)(Parameters...), const LaunchShape& shape,
                        cudaStream_t stream, Arguments&&... arguments) {
#if defined(__CUDACC__)
  std::tuple<std::decay_t<Parameters>...> values(std::forward<Arguments>(arguments)...);
  void* pointers[sizeof...(Parameters) > 0 ? sizeof...(Parameters) : 1];
  std::apply([&pointers](auto&... value) {
    std::size_t k = 0;
    ((pointers[k++] = static_cast<void*>(&value)), ...);
  }, values);
  cudaError_t status = cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), shape.blocks, shape.threads,
                                                   pointers, shape.shared_bytes, stream);
  if (status == cudaSuccess) status = cudaGetLastError();
#else
  simt::launch(name, true, kernel, shape.blocks, shape.threads, shape.shared_bytes, stream,
               std::forward<Arguments>(arguments)...);
  const cudaError_t status = cudaGetLastError();
#endif
  if (status != cudaSuccess) detail::launch_failed(name, status);
}

}  // namespace genrnn::kernels
