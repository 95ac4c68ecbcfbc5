// The shared cell equations evaluated by a CUDA kernel must equal the same header on the CPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cell_math.cuh"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

constexpr int kInputs = 8;   // per element: 6 pre-activations, a previous state, an incoming gradient
constexpr int kOutputs = 13;  // LSTM c, h, 5 grads; GRU h, 3 grads; RNN h, grad

// One element's worth of every cell's forward and backward, on either side.
__host__ __device__ void evaluate_cells(const float* in, float* out) {
  using namespace math;
  const auto lstm = lstm_gates(in[0], in[1], in[2], in[3]);
  const float c = lstm_cell(lstm, in[6]);
  out[0] = c;
  out[1] = lstm_hidden(lstm, c);
  const auto dl = lstm_backward(lstm, in[6], c, in[7], 0.5f * in[7]);
  out[2] = dl.pre_i, out[3] = dl.pre_f, out[4] = dl.pre_g, out[5] = dl.pre_o, out[6] = dl.c_prev;
  const auto gru = gru_gates(in[0], in[1], in[2], in[3], in[4], in[5]);
  out[7] = gru_hidden(gru, in[6]);
  const auto dg = gru_backward(gru, in[6], in[7]);
  out[8] = dg.x_r, out[9] = dg.h_n, out[10] = dg.h_prev;
  out[11] = rnn_hidden(in[0] + in[4]);
  out[12] = rnn_backward(out[11], in[7]);
}

__global__ void evaluate_cells_kernel(const float* in, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) evaluate_cells(in + i * kInputs, out + i * kOutputs);
}

TEST(CellMathGpu, KernelMatchesHostOnRandomInputs) {
  GENRNN_REQUIRE_GPU();
  const int n = 4096;
  const auto inputs = testing::random_uniform<float>(static_cast<std::size_t>(n) * kInputs, -4.0f, 4.0f);
  std::vector<float> expected(static_cast<std::size_t>(n) * kOutputs), actual(expected.size());
  for (int i = 0; i < n; ++i) evaluate_cells(inputs.data() + i * kInputs, expected.data() + i * kOutputs);

  float *device_in = nullptr, *device_out = nullptr;
  ASSERT_EQ(cudaMalloc(&device_in, inputs.size() * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&device_out, actual.size() * sizeof(float)), cudaSuccess);
  cudaMemcpy(device_in, inputs.data(), inputs.size() * sizeof(float), cudaMemcpyHostToDevice);
  evaluate_cells_kernel<<<(n + 255) / 256, 256>>>(device_in, device_out, n);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(actual.data(), device_out, actual.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(device_in);
  cudaFree(device_out);
  // expf/tanhf differ by a few ulp between host libm and CUDA's math library.
  EXPECT_LT(testing::max_relative_error(actual, expected), 1e-5);
}

}  // namespace
}  // namespace genrnn
