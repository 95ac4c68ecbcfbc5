// The host SIMT executor itself, where it differs from a GPU: what it promises (NaN-filled
// memory, a seeded random schedule, stream work deferred until the host waits) and that each
// check it adds catches what it is for. The programming model it shares with a GPU is tested in
// tests/gpu/programming_model_gpu_test.cu. Built and run only on the executor (ctest -L simt).
#include <cooperative_groups.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "kernels/launch.cuh"
#include "kernels/shared_memory.cuh"
#include "tests/gpu/device_array.hpp"

namespace genrnn {
namespace {

using testing::DeviceArray;
using testing::finish_launch;
using testing::launch_and_wait;

// ---- the programming model ----

__global__ void read_shared_before_writing(float* out) {
  __shared__ float never_written[32];
  out[threadIdx.x] = never_written[threadIdx.x];
}

TEST(HostExecutor, SharedAndDeviceMemoryStartAsNaN) {
  const DeviceArray<float> out(32), untouched(8);
  launch_and_wait("read_shared_before_writing", read_shared_before_writing, 1, 32, out.get());
  for (float v : out.download()) EXPECT_TRUE(std::isnan(v));
  for (float v : untouched.download()) EXPECT_TRUE(std::isnan(v));
}

// Thread 0 of each block records the order in which threads reach it: a different schedule for
// a different seed shows the threads do not run in lock step.
__global__ void arrival_order(int* counter, int* order) { order[threadIdx.x] = atomicAdd(counter, 1); }

TEST(HostExecutor, ThreadsRunInASeededRandomOrder) {
  std::vector<std::vector<int>> orders;
  for (int run_index = 0; run_index < 2; ++run_index) {
    const DeviceArray<int> counter(std::vector<int>{0}), order(64);
    launch_and_wait("arrival_order", arrival_order, 1, 64, counter.get(), order.get());
    orders.push_back(order.download());
  }
  std::vector<int> in_order(64);
  for (int i = 0; i < 64; ++i) in_order[i] = i;
  EXPECT_NE(orders[0], in_order);
  EXPECT_NE(orders[0], orders[1]);
}

TEST(HostExecutor, StreamWorkRunsOnlyWhenTheHostWaitsForIt) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const DeviceArray<int> device(std::vector<int>{7});
  int* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(&pinned, sizeof(int)), cudaSuccess);
  *pinned = 0;
  ASSERT_EQ(cudaMemcpyAsync(pinned, device.get(), sizeof(int), cudaMemcpyDeviceToHost, stream), cudaSuccess);
  EXPECT_EQ(*pinned, 0);  // queued, not run: reading here without a wait is a bug the executor shows
  cudaEvent_t copied = nullptr;
  ASSERT_EQ(cudaEventCreate(&copied), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(copied, stream), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(copied), cudaSuccess);
  EXPECT_EQ(*pinned, 7);
  cudaEventDestroy(copied);
  cudaFreeHost(pinned);
  cudaStreamDestroy(stream);
}

// ---- the checks: each kernel has one bug, and the executor names it ----

__global__ void read_one_past_the_end(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[i % n] = in[i];  // i == n reads past the end
}

__global__ void shared_without_barrier(const int* in, int* out) {
  __shared__ int slice[64];
  slice[threadIdx.x] = in[threadIdx.x];
  out[threadIdx.x] = slice[63 - threadIdx.x];  // another thread's write, no __syncthreads()
}

__global__ void shuffle_leaving_lanes_out(int* out) {
  // Lanes 16..31 call with a mask of the lower half only.
  out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, int(threadIdx.x), 1);
}

__global__ void barrier_after_some_exit(int* out) {
  if (threadIdx.x >= 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void write_after_free(int* freed) { freed[threadIdx.x] = 1; }

__global__ void shuffle_from_a_lane_outside_the_mask(int* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_sync(0x0000ffffu, int(threadIdx.x), 20);
}

__global__ void grid_sync_without_cooperation(int* out) {
  cooperative_groups::this_grid().sync();
  out[threadIdx.x] = 1;
}

__global__ void dynamic_shared_without_barrier(int* out) {
  GENRNN_DYNAMIC_SHARED(int, slice);
  slice[threadIdx.x] = int(threadIdx.x);
  out[threadIdx.x] = slice[31 - threadIdx.x];
}

using HostExecutorDeathTest = ::testing::Test;

TEST_F(HostExecutorDeathTest, AGridBarrierOutsideACooperativeLaunchIsAnError) {
  const DeviceArray<int> out(32);
  EXPECT_DEATH(launch_and_wait("grid_sync_without_cooperation", grid_sync_without_cooperation, 2, 32, out.get()),
               "calls grid.sync\\(\\) in a launch that is not cooperative");
}

TEST_F(HostExecutorDeathTest, AMissingBarrierOverDynamicSharedMemoryIsARace) {
  const DeviceArray<int> out(32);
  EXPECT_DEATH(
      {
        kernels::launch("dynamic_shared_without_barrier", dynamic_shared_without_barrier,
                        {dim3(1), dim3(32), 32 * sizeof(int)}, nullptr, out.get());
        finish_launch();
      },
      "dynamic shared memory at offset .* in the same barrier interval: a race");
}

TEST_F(HostExecutorDeathTest, AReadPastABuffersEndNamesTheKernelAndTheAddress) {
  const DeviceArray<float> in(100), out(100);
  EXPECT_DEATH(launch_and_wait("read_one_past_the_end", read_one_past_the_end, 1, 128, in.get(), out.get(), 100),
               "kernel read_one_past_the_end, block \\(0,0,0\\), thread \\(100,0,0\\) reads 4 bytes .*past the end "
               "of the 400-byte device allocation");
}

TEST_F(HostExecutorDeathTest, AMissingBarrierIsASharedMemoryRace) {
  const DeviceArray<int> in(64), out(64);
  EXPECT_DEATH(launch_and_wait("shared_without_barrier", shared_without_barrier, 1, 64, in.get(), out.get()),
               "kernel shared_without_barrier.* shared memory at offset .* in the same barrier interval: a race");
}

TEST_F(HostExecutorDeathTest, AShuffleMaskThatLeavesTheCallerOutIsAnError) {
  const DeviceArray<int> out(32);
  EXPECT_DEATH(launch_and_wait("shuffle_leaving_lanes_out", shuffle_leaving_lanes_out, 1, 32, out.get()),
               "calls __shfl_xor_sync with mask 0xffff, which leaves its own lane (1[6-9]|2[0-9]|3[01]) out");
}

TEST_F(HostExecutorDeathTest, ABarrierSomeThreadsNeverReachIsAnError) {
  const DeviceArray<int> out(32);
  EXPECT_DEATH(launch_and_wait("barrier_after_some_exit", barrier_after_some_exit, 1, 32, out.get()),
               "16 threads wait at __syncthreads\\(\\) while 16 threads of the block exited");
}

TEST_F(HostExecutorDeathTest, AUseAfterFreeIsNamed) {
  int* freed = nullptr;
  ASSERT_EQ(cudaMalloc(&freed, 32 * sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaFree(freed), cudaSuccess);
  EXPECT_DEATH(launch_and_wait("write_after_free", write_after_free, 1, 32, freed),
               "which was freed \\(use after free\\)");
}

TEST_F(HostExecutorDeathTest, AShuffleFromALaneOutsideTheMaskIsAnError) {
  const DeviceArray<int> out(32);
  EXPECT_DEATH(
      launch_and_wait("shuffle_from_a_lane_outside_the_mask", shuffle_from_a_lane_outside_the_mask, 1, 32, out.get()),
      "reads lane 20 in __shfl_sync, which is not in the mask 0xffff");
}

}  // namespace
}  // namespace genrnn
