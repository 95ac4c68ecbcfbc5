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

// Throws, naming the kernel, unless both the launch call's own status and the runtime's last
// error are success. The last error is read (and so cleared) either way: a failed call leaves
// its error there too, and the next, unrelated launch would otherwise throw it as its own.
inline void check_launch(const char* name, cudaError_t status) {
  const cudaError_t last = cudaGetLastError();
  if (status == cudaSuccess) status = last;
  if (status != cudaSuccess)
    throw Error(std::string("launching kernel ") + name + " failed: " + cudaGetErrorName(status) + " (" +
                cudaGetErrorString(status) + ")");
}

}  // namespace detail

template <class... Parameters, class... Arguments>
void launch(const char* name, void (*kernel)(Parameters...), const LaunchShape& shape, cudaStream_t stream,
            Arguments&&... arguments) {
#if defined(__CUDACC__)
  kernel<<<shape.blocks, shape.threads, shape.shared_bytes, stream>>>(std::forward<Arguments>(arguments)...);
  const cudaError_t status = cudaSuccess;  // <<<...>>> reports only through the last error
#else
  const cudaError_t status = simt::launch(name, false, kernel, shape.blocks, shape.threads, shape.shared_bytes, stream,
                                          std::forward<Arguments>(arguments)...);
#endif
  detail::check_launch(name, status);
}

// A cooperative launch: every block of the grid resident at once, so that the kernel may wait
// at cooperative_groups::this_grid().sync(). Returns false, having launched nothing and left no
// error behind, where the grid does not fit on the device at once
// (cudaErrorCooperativeLaunchTooLarge): a GPU shared with other processes (MPS) or a partition
// of one may hold fewer blocks than its properties say. Throws on any other failure.
template <class... Parameters, class... Arguments>
[[nodiscard]] bool launch_cooperative(const char* name, void (*kernel)(Parameters...), const LaunchShape& shape,
                                      cudaStream_t stream, Arguments&&... arguments) {
#if defined(__CUDACC__)
  std::tuple<std::decay_t<Parameters>...> values(std::forward<Arguments>(arguments)...);
  void* pointers[sizeof...(Parameters) > 0 ? sizeof...(Parameters) : 1];
  std::apply(
      [&pointers](auto&... value) {
        std::size_t k = 0;
        ((pointers[k++] = static_cast<void*>(&value)), ...);
      },
      values);
  const cudaError_t status = cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), shape.blocks,
                                                         shape.threads, pointers, shape.shared_bytes, stream);
#else
  const cudaError_t status = simt::launch(name, true, kernel, shape.blocks, shape.threads, shape.shared_bytes, stream,
                                          std::forward<Arguments>(arguments)...);
#endif
  if (status == cudaErrorCooperativeLaunchTooLarge) {
    cudaGetLastError();
    return false;
  }
  detail::check_launch(name, status);
  return true;
}

// Raises `kernel`'s limit of dynamic shared memory to `bytes` where its static shared memory
// and `bytes` together pass the 48 KiB every block may have without asking; throws, naming the
// kernel, where the GPU does not allow that much.
template <class... Parameters>
void allow_shared_memory(const char* name, void (*kernel)(Parameters...), std::size_t bytes) {
  cudaFuncAttributes attributes{};
  detail::check_launch(name, cudaFuncGetAttributes(&attributes, reinterpret_cast<const void*>(kernel)));
  if (bytes <= std::size_t(attributes.maxDynamicSharedSizeBytes)) return;
  const cudaError_t status = cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),
                                                  cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
  cudaGetLastError();  // the error is this call's, said below, not the next launch's
  if (status != cudaSuccess)
    throw Error(std::string("kernel ") + name + ": " + std::to_string(bytes) + " bytes of dynamic shared memory (" +
                std::to_string(attributes.sharedSizeBytes) + " static beside them) are more than this GPU allows");
}

}  // namespace genrnn::kernels
