// The shared cell equations evaluated by a CUDA kernel must equal the same header on the CPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cells/cell_list.cuh"
#include "kernels/launch.cuh"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

constexpr int kInputs = 8;    // per element: 6 pre-activations, a previous state, an incoming gradient
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
  std::vector<float> expected(static_cast<std::size_t>(n) * kOutputs);
  for (int i = 0; i < n; ++i) evaluate_cells(inputs.data() + i * kInputs, expected.data() + i * kOutputs);

  const testing::DeviceArray<float> device_in(inputs), device_out(expected.size());
  kernels::launch("evaluate_cells_kernel", evaluate_cells_kernel, {dim3((n + 255) / 256), dim3(256)}, nullptr,
                  device_in.get(), device_out.get(), n);
  testing::finish_launch();
  const std::vector<float> actual = device_out.download();
  // Each output on its own scale: a small one (a gradient) cannot hide behind a large one.
  // expf/tanhf differ by a few ulp between host libm and CUDA's math library.
  for (int k = 0; k < kOutputs; ++k) {
    std::vector<float> actual_k(n), expected_k(n);
    for (int i = 0; i < n; ++i) {
      actual_k[i] = actual[static_cast<std::size_t>(i) * kOutputs + k];
      expected_k[i] = expected[static_cast<std::size_t>(i) * kOutputs + k];
    }
    EXPECT_LT(testing::max_relative_error(actual_k, expected_k), 1e-5) << "output " << k;
  }
}

}  // namespace
}  // namespace genrnn
