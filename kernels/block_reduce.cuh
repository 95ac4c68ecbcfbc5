#pragma once
// What the kernels in this folder share: their launch shape, the launchers' argument check and
// block-wide reductions and scans.
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <string>

#include "genrnn/error.hpp"
#include "kernels/launch.cuh"

namespace genrnn::kernels {

constexpr int kThreadsPerBlock = 256;
// Enough blocks to fill every SM of any current GPU several times over; grid-stride loops
// cover the rest, so a launch never asks for more blocks than the hardware allows. The host
// SIMT executor's build takes fewer (GENRNN_MAX_BLOCKS), so that the tests' grid-stride loops
// still take several turns at sizes it runs in seconds.
#ifndef GENRNN_MAX_BLOCKS
#define GENRNN_MAX_BLOCKS 4096
#endif
constexpr int kMaxBlocks = GENRNN_MAX_BLOCKS;

// Blocks of kThreadsPerBlock for a grid-stride loop over n elements: 0 when n is 0.
inline int grid_blocks(std::size_t n) {
  const std::size_t wanted = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<int>(std::min<std::size_t>(wanted, kMaxBlocks));
}

// The launch of a grid-stride loop over n elements (n > 0).
inline LaunchShape grid_stride_shape(std::size_t n) { return {dim3(grid_blocks(n)), dim3(kThreadsPerBlock)}; }

// Threads for one block per row of `width` > 0 values: whole warps, no more than the row has
// columns for (a 2-column row gets one warp), at most kThreadsPerBlock.
inline int row_block_threads(int width) {
  return width >= kThreadsPerBlock ? kThreadsPerBlock : (width + 31) / 32 * 32;
}

// A grid-stride loop is `for (i = grid_thread_index(); i < n; i += grid_thread_count())`.
__device__ inline std::size_t grid_thread_index() { return blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; }
__device__ inline std::size_t grid_thread_count() { return std::size_t(gridDim.x) * blockDim.x; }

// Throws when a size given to `launcher` is negative: a caller's bug, caught before the launch.
inline void require_non_negative(const char* launcher, std::initializer_list<long long> sizes) {
  for (long long size : sizes)
    if (size < 0) throw Error(std::string("kernels::") + launcher + ": negative size " + std::to_string(size));
}

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// For ids and counts: MaxOp's fmaxf would go through float.
struct IntMinOp {
  __device__ int operator()(int a, int b) const { return min(a, b); }
};
struct IntMaxOp {
  __device__ int operator()(int a, int b) const { return max(a, b); }
};

// Combines one value from every lane of the warp with `op` (a shuffle tree) and returns the
// result to every lane; every lane of the warp must call it.
template <class T, class Op>
__device__ T warp_reduce(T value, Op op) {
  constexpr unsigned kAllLanes = 0xffffffffu;
  for (int lane_mask = 16; lane_mask > 0; lane_mask /= 2)
    value = op(value, __shfl_xor_sync(kAllLanes, value, lane_mask));
  return value;
}

// Combines one value from every thread of the block with `op` and returns the result to every
// thread. A shuffle tree inside each warp (warp_reduce), then each thread folds the warps' results in warp
// order: the order depends only on blockDim.x, so the result is the same bits every run.
// blockDim.x must be a multiple of 32 (at most 1024) and every thread of the block must call
// it; `warp_results` is shared memory for 32 values, reusable by the next call.
template <class T, class Op>
__device__ T block_reduce(T value, Op op, T* warp_results) {
  value = warp_reduce(value, op);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // a previous call's readers are done with warp_results
  if (lane == 0) warp_results[warp] = value;
  __syncthreads();
  T total = warp_results[0];
  for (int w = 1; w < warps; ++w) total = op(total, warp_results[w]);
  return total;
}

// The sum of `value` over the threads before this one (in thread order), and in `total` the sum
// over the whole block. Under the same rules as block_reduce and with its guarantee: the order
// of the additions depends only on blockDim.x.
template <class T>
__device__ T block_exclusive_sum(T value, T* warp_results, T& total) {
  constexpr unsigned kAllLanes = 0xffffffffu;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  T inclusive = value;
  for (int offset = 1; offset < 32; offset *= 2) {
    const T below = __shfl_up_sync(kAllLanes, inclusive, offset);
    if (lane >= offset) inclusive += below;
  }
  // Shifted rather than inclusive - value, which would not be exact in floating point.
  T exclusive = __shfl_up_sync(kAllLanes, inclusive, 1);
  if (lane == 0) exclusive = T(0);
  __syncthreads();  // a previous call's readers are done with warp_results
  if (lane == 31) warp_results[warp] = inclusive;
  __syncthreads();
  total = T(0);
  for (int w = 0; w < warps; ++w) {
    if (w == warp) exclusive += total;
    total += warp_results[w];
  }
  return exclusive;
}

}  // namespace genrnn::kernels
