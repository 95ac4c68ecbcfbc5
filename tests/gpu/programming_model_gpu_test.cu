// CUDA's programming model as our kernels rely on it (barriers, warp collectives inside
// branches, cooperative grids, dynamic shared memory, launch errors, stream capture): on a GPU,
// and on the host SIMT executor (tests/simt), which must behave the same.
#include <cooperative_groups.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "genrnn/error.hpp"
#include "kernels/launch.cuh"
#include "kernels/shared_memory.cuh"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"

namespace genrnn {
namespace {

using testing::DeviceArray;
using testing::finish_launch;
using testing::launch_and_wait;

// Each block reverses its slice through shared memory: correct only with the barrier.
__global__ void reverse_in_shared(const int* in, int* out) {
  __shared__ int slice[256];
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  slice[threadIdx.x] = in[i];
  __syncthreads();
  out[i] = slice[blockDim.x - 1 - threadIdx.x];
}

TEST(ProgrammingModelGpu, BarriersOrderSharedMemoryWithinEachBlock) {
  GENRNN_REQUIRE_GPU();
  std::vector<int> in(4 * 256);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = int(i);
  const DeviceArray<int> device_in(in), device_out(in.size());
  launch_and_wait("reverse_in_shared", reverse_in_shared, 4, 256, device_in.get(), device_out.get());
  const std::vector<int> out = device_out.download();
  for (int b = 0; b < 4; ++b)
    for (int t = 0; t < 256; ++t) EXPECT_EQ(out[b * 256 + t], b * 256 + 255 - t);
}

// Warp 1 alone sums its lanes with shuffles, inside a branch; every lane gets the warp's sum.
__global__ void warp_sum_in_a_branch(int* out) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (warp == 1) {
    int value = lane;
    for (int mask = 16; mask > 0; mask /= 2) value += __shfl_xor_sync(0xffffffffu, value, mask);
    out[lane] = value;
    out[32 + lane] = __shfl_up_sync(0xffffffffu, lane, 1);
    out[64 + lane] = __shfl_down_sync(0xffffffffu, lane, 3);
    out[96 + lane] = __shfl_sync(0xffffffffu, lane * 10, 5);
    out[128 + lane] = int(__ballot_sync(0xffffffffu, lane % 2));
  }
}

TEST(ProgrammingModelGpu, WarpCollectivesWorkInsideBranchesAsCudaDefinesThem) {
  GENRNN_REQUIRE_GPU();
  const DeviceArray<int> out(160);
  launch_and_wait("warp_sum_in_a_branch", warp_sum_in_a_branch, 1, 96, out.get());
  const std::vector<int> values = out.download();
  for (int lane = 0; lane < 32; ++lane) {
    EXPECT_EQ(values[lane], 31 * 32 / 2);
    EXPECT_EQ(values[32 + lane], lane == 0 ? 0 : lane - 1);         // up: lane 0 keeps its own
    EXPECT_EQ(values[64 + lane], lane + 3 < 32 ? lane + 3 : lane);  // down: the last lanes keep theirs
    EXPECT_EQ(values[96 + lane], 50);
    EXPECT_EQ(unsigned(values[128 + lane]), 0xaaaaaaaau);
  }
}

__global__ void add_one(int* value) { *value += 1; }

TEST(ProgrammingModelGpu, CapturedWorkReplaysAndSynchronizingInsideACaptureFails) {
  GENRNN_REQUIRE_GPU();
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const DeviceArray<int> value(std::vector<int>{0});
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  kernels::launch("add_one", add_one, {dim3(1), dim3(1)}, stream, value.get());
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int replay = 0; replay < 3; ++replay) ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(value.download(), std::vector<int>{3});  // captured once, run three times

  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorStreamCaptureUnsupported);
  cudaGraph_t spoiled = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(stream, &spoiled), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(spoiled, nullptr);
  cudaGetLastError();
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST(ProgrammingModelGpu, ABadLaunchConfigurationIsTheLaunchsError) {
  GENRNN_REQUIRE_GPU();
  const DeviceArray<int> value(1);
  EXPECT_THROW(kernels::launch("add_one", add_one, {dim3(1), dim3(2048)}, nullptr, value.get()), Error);
  EXPECT_THROW(kernels::launch("add_one", add_one, {dim3(0), dim3(32)}, nullptr, value.get()), Error);
}

// Each block sums its slice in its own shared memory, leaves the sum in partial[], and after the
// grid-wide barrier block 0 adds them up. All blocks run at once, interleaved: right only if each
// block has shared memory of its own and grid.sync() waits for them all.
__global__ void grid_sum(const int* in, int* partial, int* total) {
  __shared__ int block_sum;
  if (threadIdx.x == 0) block_sum = 0;
  __syncthreads();
  atomicAdd(&block_sum, in[blockIdx.x * blockDim.x + threadIdx.x]);
  __syncthreads();
  if (threadIdx.x == 0) partial[blockIdx.x] = block_sum;
  cooperative_groups::this_grid().sync();
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    int sum = 0;
    for (unsigned b = 0; b < gridDim.x; ++b) sum += partial[b];
    *total = sum;
  }
}

TEST(ProgrammingModelGpu, ACooperativeGridRunsAllItsBlocksAtOnceUpToItsBarrier) {
  GENRNN_REQUIRE_GPU();
  const int blocks = 40, threads = 64;
  std::vector<int> in(blocks * threads);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = int(i % 7);
  int expected = 0;
  for (int v : in) expected += v;
  const DeviceArray<int> device_in(in), partial(blocks), total(1);
  ASSERT_TRUE(kernels::launch_cooperative("grid_sum", grid_sum, {dim3(blocks), dim3(threads)}, nullptr, device_in.get(),
                                          partial.get(), total.get()));
  finish_launch();
  EXPECT_EQ(total.download(), std::vector<int>{expected});
  // More blocks than the device holds at once cannot be cooperative: not launched, and said so.
  EXPECT_FALSE(kernels::launch_cooperative("grid_sum", grid_sum, {dim3(1000), dim3(1024)}, nullptr, device_in.get(),
                                           partial.get(), total.get()));
}

TEST(ProgrammingModelGpu, AFailedLaunchLeavesNoErrorForTheNextLaunch) {
  GENRNN_REQUIRE_GPU();
  const DeviceArray<int> in(std::vector<int>(1024, 1)), partial(1000), total(1), value(std::vector<int>{0});
  // A cooperative grid larger than the device holds at once: refused, however it is reported,
  // and its error must not come back as the next, good launch's.
  bool launched = true;
  try {
    launched = kernels::launch_cooperative("grid_sum", grid_sum, {dim3(1000), dim3(1024)}, nullptr, in.get(),
                                           partial.get(), total.get());
  } catch (const Error&) {
    launched = false;
  }
  EXPECT_FALSE(launched);
  EXPECT_NO_THROW(kernels::launch("add_one", add_one, {dim3(1), dim3(1)}, nullptr, value.get()));
  // Likewise after a launch with a bad configuration.
  EXPECT_THROW(kernels::launch("add_one", add_one, {dim3(1), dim3(2048)}, nullptr, value.get()), Error);
  EXPECT_NO_THROW(kernels::launch("add_one", add_one, {dim3(1), dim3(1)}, nullptr, value.get()));
  finish_launch();
  EXPECT_EQ(value.download(), std::vector<int>{2});
}

__global__ void reverse_in_dynamic_shared(const float* in, float* out) {
  GENRNN_DYNAMIC_SHARED(float, slice);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  slice[threadIdx.x] = in[i];
  __syncthreads();
  out[i] = slice[blockDim.x - 1 - threadIdx.x];
}

TEST(ProgrammingModelGpu, DynamicSharedMemoryIsSizedByTheLaunch) {
  GENRNN_REQUIRE_GPU();
  std::vector<float> in(3 * 128);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(i);
  const DeviceArray<float> device_in(in), device_out(in.size());
  kernels::launch("reverse_in_dynamic_shared", reverse_in_dynamic_shared, {dim3(3), dim3(128), 128 * sizeof(float)},
                  nullptr, device_in.get(), device_out.get());
  finish_launch();
  const std::vector<float> out = device_out.download();
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 128; ++t) EXPECT_EQ(out[b * 128 + t], float(b * 128 + 127 - t));
  // Past 48 KiB only once the kernel's limit is raised, as on a GPU.
  const kernels::LaunchShape large{dim3(1), dim3(128), 64 * 1024};
  EXPECT_THROW(kernels::launch("reverse_in_dynamic_shared", reverse_in_dynamic_shared, large, nullptr, device_in.get(),
                               device_out.get()),
               Error);
  ASSERT_EQ(cudaFuncSetAttribute(reinterpret_cast<const void*>(reverse_in_dynamic_shared),
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024),
            cudaSuccess);
  kernels::launch("reverse_in_dynamic_shared", reverse_in_dynamic_shared, large, nullptr, device_in.get(),
                  device_out.get());
  finish_launch();
}

// Static shared memory beside the dynamic: block 0 counts its threads in both.
__global__ void count_in_static_and_dynamic_shared(int* out) {
  __shared__ int static_count[64];
  GENRNN_DYNAMIC_SHARED(int, dynamic_count);
  if (threadIdx.x == 0) static_count[0] = dynamic_count[0] = 0;
  __syncthreads();
  atomicAdd(&static_count[0], 1);
  atomicAdd(&dynamic_count[0], 1);
  __syncthreads();
  if (threadIdx.x == 0 && blockIdx.x == 0) *out = static_count[0] + dynamic_count[0];
}

TEST(ProgrammingModelGpu, StaticAndDynamicSharedMemoryTogetherFit48KiBUnlessTheKernelOptsIn) {
  GENRNN_REQUIRE_GPU();
  const auto kernel = count_in_static_and_dynamic_shared;
  cudaFuncAttributes attributes{};
  ASSERT_EQ(cudaFuncGetAttributes(&attributes, reinterpret_cast<const void*>(kernel)), cudaSuccess);
  ASSERT_GE(attributes.sharedSizeBytes, 64 * sizeof(int));
  const std::size_t edge = 48 * 1024 - attributes.sharedSizeBytes;  // the most dynamic memory without the opt-in
  const DeviceArray<int> out(1);
  kernels::launch("count_in_static_and_dynamic_shared", kernel, {dim3(2), dim3(64), edge}, nullptr, out.get());
  finish_launch();
  EXPECT_EQ(out.download(), std::vector<int>{128});
  // 16 bytes past the edge: static + dynamic over 48 KiB, which needs the kernel's opt-in.
  const kernels::LaunchShape past{dim3(2), dim3(64), edge + 16};
  EXPECT_THROW(kernels::launch("count_in_static_and_dynamic_shared", kernel, past, nullptr, out.get()), Error);
  kernels::allow_shared_memory("count_in_static_and_dynamic_shared", kernel, edge + 16);
  kernels::launch("count_in_static_and_dynamic_shared", kernel, past, nullptr, out.get());
  finish_launch();
  EXPECT_EQ(out.download(), std::vector<int>{128});
  // More than any block may have: the opt-in itself is refused, by name.
  EXPECT_THROW(kernels::allow_shared_memory("count_in_static_and_dynamic_shared", kernel, std::size_t(1) << 20), Error);
}

}  // namespace
}  // namespace genrnn
