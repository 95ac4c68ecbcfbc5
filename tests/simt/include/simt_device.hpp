#pragma once
// The device side of CUDA C++ as our kernels use it, compiled by g++ for the host SIMT executor
// (tests/simt/executor.cpp): each GPU thread is a fiber that yields at barriers and warp
// collectives; __shared__ variables live in one linker section that the executor gives to
// each block in turn; and the kernel translation units are compiled with ThreadSanitizer's
// instrumentation, whose per-access calls the executor (not TSan's runtime) answers, checking
// every access and tracking shared-memory races.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <math.h>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- keywords ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
// A __shared__ variable is a static in the executor's section: one copy, which each block owns
// while it runs (blocks run one after another), filled with NaN bytes before each block.
#define __shared__ __attribute__((section("genrnn_simt_shared"))) static

namespace genrnn::simt {

// ---- what the running thread sees ----
uint3 thread_index();
uint3 block_index();
dim3 block_dim();
dim3 grid_dim();

void sync_threads();
void sync_grid();
// The running block's dynamic shared memory (null when the launch asked for none).
void* dynamic_shared_memory();
enum class Collective { shfl, shfl_xor, shfl_up, shfl_down, ballot, any, all, sync_warp };
// One warp collective with a 64-bit payload: every lane in `mask` must reach it, with the same
// mask and kind; returns the calling lane's result.
uint64_t warp_collective(Collective kind, unsigned mask, uint64_t value, int argument, int width);

template <class T>
uint64_t to_bits(T value) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "a shuffled value is at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}
template <class T>
T from_bits(uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

// ---- launches ----
// What a launch copies: the kernel and its arguments, converted to its parameter types.
template <class... Parameters>
struct KernelArguments {
  void (*kernel)(Parameters...);
  std::tuple<std::decay_t<Parameters>...> arguments;
};

// Runs one thread of a launch: the executor calls it on the thread's fiber.
template <class... Parameters>
void run_kernel_thread(const void* launch) {
  const auto& call = *static_cast<const KernelArguments<Parameters...>*>(launch);
  std::apply(call.kernel, call.arguments);
}

struct KernelLaunch {
  const char* name;
  const void* kernel;  // for its attributes (cudaFuncSetAttribute)
  bool cooperative;    // every block resident at once, for grid.sync()
  dim3 blocks, threads;
  std::size_t shared_bytes;               // dynamic
  std::shared_ptr<const void> arguments;  // a KernelArguments
  std::size_t argument_bytes;
  void (*run_thread)(const void* arguments);
};
// Checks the configuration and queues the grid on `stream`. An error is returned, as
// cudaLaunchCooperativeKernel returns it, and also left for cudaGetLastError, as every failed
// runtime call leaves it (the only report a <<<...>>> launch gives).
cudaError_t enqueue_kernel(cudaStream_t stream, KernelLaunch launch);

template <class... Parameters, class... Arguments>
cudaError_t launch(const char* name, bool cooperative, void (*kernel)(Parameters...), dim3 blocks, dim3 threads,
                   std::size_t shared_bytes, cudaStream_t stream, Arguments&&... arguments) {
  using Call = KernelArguments<Parameters...>;
  std::shared_ptr<const void> call(
      new Call{kernel, std::tuple<std::decay_t<Parameters>...>(std::forward<Arguments>(arguments)...)},
      [](const void* p) { delete static_cast<const Call*>(p); });
  return enqueue_kernel(stream, {name, reinterpret_cast<const void*>(kernel), cooperative, blocks, threads,
                                 shared_bytes, std::move(call), sizeof(Call), &run_kernel_thread<Parameters...>});
}

// Device atomics: done by the executor, outside the instrumented code (they never race).
float atomic_add(float* address, float value);
int atomic_add(int* address, int value);

}  // namespace genrnn::simt

// ---- built-in variables ----
#define threadIdx (::genrnn::simt::thread_index())
#define blockIdx (::genrnn::simt::block_index())
#define blockDim (::genrnn::simt::block_dim())
#define gridDim (::genrnn::simt::grid_dim())
constexpr int warpSize = 32;

// ---- synchronisation and warp collectives ----
inline void __syncthreads() { ::genrnn::simt::sync_threads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::genrnn::simt::warp_collective(::genrnn::simt::Collective::sync_warp, mask, 0, 0, 32);
}
template <class T>
T __shfl_sync(unsigned mask, T value, int source_lane, int width = 32) {
  using namespace ::genrnn::simt;
  return from_bits<T>(warp_collective(Collective::shfl, mask, to_bits(value), source_lane, width));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
  using namespace ::genrnn::simt;
  return from_bits<T>(warp_collective(Collective::shfl_xor, mask, to_bits(value), lane_mask, width));
}
template <class T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  using namespace ::genrnn::simt;
  return from_bits<T>(warp_collective(Collective::shfl_up, mask, to_bits(value), int(delta), width));
}
template <class T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  using namespace ::genrnn::simt;
  return from_bits<T>(warp_collective(Collective::shfl_down, mask, to_bits(value), int(delta), width));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  using namespace ::genrnn::simt;
  return unsigned(warp_collective(Collective::ballot, mask, predicate != 0, 0, 32));
}
inline int __any_sync(unsigned mask, int predicate) {
  using namespace ::genrnn::simt;
  return int(warp_collective(Collective::any, mask, predicate != 0, 0, 32));
}
inline int __all_sync(unsigned mask, int predicate) {
  using namespace ::genrnn::simt;
  return int(warp_collective(Collective::all, mask, predicate != 0, 0, 32));
}

// ---- atomics and intrinsics ----
inline float atomicAdd(float* address, float value) { return ::genrnn::simt::atomic_add(address, value); }
inline int atomicAdd(int* address, int value) { return ::genrnn::simt::atomic_add(address, value); }

inline unsigned __float_as_uint(float x) { return ::genrnn::simt::from_bits<unsigned>(::genrnn::simt::to_bits(x)); }
inline float __uint_as_float(unsigned x) { return ::genrnn::simt::from_bits<float>(::genrnn::simt::to_bits(x)); }

// CUDA's integer min and max, which device code calls unqualified.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
