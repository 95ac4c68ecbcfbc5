// The fused cell kernels (kernels/cell_ops.hpp) against the same cell equations evaluated on the
// host, for every cell, on fresh random inputs whose rows sit inside wider buffers; and the
// launchers' argument checks.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "genrnn/config.hpp"
#include "genrnn/error.hpp"
#include "kernels/cell_math.cuh"
#include "kernels/block_reduce.cuh"
#include "kernels/cell_ops.hpp"
#include "kernels/cell_step.cuh"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

// The shape of one step: the launchers take the cell and the batch, the hidden size is in the
// argument struct.
struct CellStep {
  CellType cell;
  int batch;
  int hidden;
};

using testing::DeviceArray;
using testing::finish_launch;
using testing::max_relative_error;
using testing::random_uniform;

// CUDA's expf/tanhf and the host's differ by a few ulp.
constexpr double kTolerance = 1e-5;
// gx, h_prev, h and d_out are rows of batch-major [batch][kTime][width] buffers, as in a window
// of kTime steps (row stride kTime * width): the step reads h_prev from slot 0 and gx and d_out
// from slot 1, writes h into slot 1, and must leave slot 2 as it was.
constexpr int kTime = 3, kPrevSlot = 0, kStepSlot = 1;
// Blocks of `hidden` values per row of `saved`: LSTM i,f,g,o; GRU r,z,n,h_n.
constexpr int kSavedBlocks = 4;
// kernels/block_reduce.cuh launches at most kMaxBlocks blocks of 256 threads: this batch of 512 units
// each makes the grid-stride loops take a second turn.
constexpr int kPastOneGridTurnBatch = kernels::kMaxBlocks * kernels::kThreadsPerBlock / 512 + 5;

constexpr cudaStream_t kStream = nullptr;  // the legacy default stream, which cudaMemcpy waits for

int gate_count(CellType cell) {
  ModelConfig config;
  config.cell = cell;
  return config.gate_count();
}

std::size_t at(int b, int slot, int width, int k) { return (std::size_t(b) * kTime + slot) * width + k; }

std::size_t saved_at(int b, int block, int hidden, int j) {
  return (std::size_t(b) * kSavedBlocks + block) * hidden + j;
}

std::vector<float> nans(std::size_t n) { return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()); }

// One step's inputs: fresh random numbers, the slot the step writes filled with NaN.
struct StepInputs {
  CellStep step;
  int gates;
  std::vector<float> gx_seq, gh, b_hh, h_seq, c_prev, d_out_seq, dh_next, dc;  // c_*, dc: LSTM only
};

StepInputs random_step(const CellStep& step) {
  const int G = gate_count(step.cell), H = step.hidden;
  const std::size_t units = std::size_t(step.batch) * H;
  const bool lstm = step.cell == CellType::lstm;
  // Pre-activations up to +-4.5 reach the gates' saturated ends without pinning them at 0 or 1.
  StepInputs in{step,
                G,
                random_uniform<float>(units * kTime * G, -2.0f, 2.0f),
                random_uniform<float>(units * G, -2.0f, 2.0f),
                random_uniform<float>(std::size_t(G) * H, -0.5f, 0.5f),
                random_uniform<float>(units * kTime, -1.0f, 1.0f),
                lstm ? random_uniform<float>(units, -2.0f, 2.0f) : std::vector<float>{},
                random_uniform<float>(units * kTime, -1.0f, 1.0f),
                random_uniform<float>(units, -1.0f, 1.0f),
                lstm ? random_uniform<float>(units, -1.0f, 1.0f) : std::vector<float>{}};
  for (int b = 0; b < step.batch; ++b)
    for (int j = 0; j < H; ++j) in.h_seq[at(b, kStepSlot, H, j)] = std::numeric_limits<float>::quiet_NaN();
  return in;
}

struct ForwardResult {
  std::vector<float> h_seq, c, saved;  // c: LSTM only; saved: LSTM and GRU
};

// What the CPU engine's run_cells computes for one step, with gh lacking b_hh as the kernels take it.
ForwardResult host_forward(const StepInputs& in) {
  const int G = in.gates, H = in.step.hidden;
  const std::size_t units = std::size_t(in.step.batch) * H;
  ForwardResult out{in.h_seq, std::vector<float>(in.c_prev.size()),
                    std::vector<float>(in.step.cell == CellType::rnn ? 0 : units * kSavedBlocks)};
  for (int b = 0; b < in.step.batch; ++b)
    for (int j = 0; j < H; ++j) {
      const std::size_t unit = std::size_t(b) * H + j;
      const auto x = [&](int gate) { return in.gx_seq[at(b, kStepSlot, G * H, gate * H + j)]; };
      const auto r = [&](int gate) { return in.gh[std::size_t(b) * G * H + gate * H + j] + in.b_hh[gate * H + j]; };
      float& h = out.h_seq[at(b, kStepSlot, H, j)];
      const auto save = [&](float s0, float s1, float s2, float s3) {
        out.saved[saved_at(b, 0, H, j)] = s0, out.saved[saved_at(b, 1, H, j)] = s1;
        out.saved[saved_at(b, 2, H, j)] = s2, out.saved[saved_at(b, 3, H, j)] = s3;
      };
      switch (in.step.cell) {
        case CellType::lstm: {
          const auto a = math::lstm_gates(x(0) + r(0), x(1) + r(1), x(2) + r(2), x(3) + r(3));
          out.c[unit] = math::lstm_cell(a, in.c_prev[unit]);
          h = math::lstm_hidden(a, out.c[unit]);
          save(a.i, a.f, a.g, a.o);
          break;
        }
        case CellType::gru: {
          const auto a = math::gru_gates(x(0), x(1), x(2), r(0), r(1), r(2));
          h = math::gru_hidden(a, in.h_seq[at(b, kPrevSlot, H, j)]);
          save(a.r, a.z, a.n, a.h_n);
          break;
        }
        case CellType::rnn:
          h = math::rnn_hidden(x(0) + r(0));
          break;
      }
    }
  return out;
}

struct BackwardResult {
  std::vector<float> dgx, dgh, dc, dh_direct;  // dc: LSTM only; dh_direct: GRU only
};

// What the CPU engine's backward_cells computes for one step, from the forward's results.
BackwardResult host_backward(const StepInputs& in, const ForwardResult& forward) {
  const int G = in.gates, H = in.step.hidden;
  const std::size_t units = std::size_t(in.step.batch) * H;
  BackwardResult out{std::vector<float>(units * G), std::vector<float>(units * G), in.dc,
                     std::vector<float>(in.step.cell == CellType::gru ? units : 0)};
  for (int b = 0; b < in.step.batch; ++b)
    for (int j = 0; j < H; ++j) {
      const std::size_t unit = std::size_t(b) * H + j;
      const float dh = in.d_out_seq[at(b, kStepSlot, H, j)] + in.dh_next[unit];
      const auto saved = [&](int block) { return forward.saved[saved_at(b, block, H, j)]; };
      float* dgx = out.dgx.data() + std::size_t(b) * G * H + j;
      float* dgh = out.dgh.data() + std::size_t(b) * G * H + j;
      switch (in.step.cell) {
        case CellType::lstm: {
          const math::LstmGates<float> a{saved(0), saved(1), saved(2), saved(3)};
          const auto g = math::lstm_backward(a, in.c_prev[unit], forward.c[unit], dh, in.dc[unit]);
          dgx[0] = dgh[0] = g.pre_i;
          dgx[H] = dgh[H] = g.pre_f;
          dgx[2 * H] = dgh[2 * H] = g.pre_g;
          dgx[3 * H] = dgh[3 * H] = g.pre_o;
          out.dc[unit] = g.c_prev;
          break;
        }
        case CellType::gru: {
          const math::GruGates<float> a{saved(0), saved(1), saved(2), saved(3)};
          const auto g = math::gru_backward(a, in.h_seq[at(b, kPrevSlot, H, j)], dh);
          dgx[0] = g.x_r, dgx[H] = g.x_z, dgx[2 * H] = g.x_n;
          dgh[0] = g.h_r, dgh[H] = g.h_z, dgh[2 * H] = g.h_n;
          out.dh_direct[unit] = g.h_prev;
          break;
        }
        case CellType::rnn:
          dgx[0] = dgh[0] = math::rnn_backward(forward.h_seq[at(b, kStepSlot, H, j)], dh);
          break;
      }
    }
  return out;
}

// Row `index` of stream 0 in a [batch][kTime][width] device buffer.
float* slot(const DeviceArray<float>& buffer, int index, int width) {
  return buffer.get() + std::size_t(index) * width;
}

// A step's buffers on the device; every output starts as NaN, so an element a kernel fails to
// write fails the comparison.
struct DeviceStep {
  explicit DeviceStep(const StepInputs& in)
      : step(in.step),
        gates(in.gates),
        gx_seq(in.gx_seq),
        gh(in.gh),
        b_hh(in.b_hh),
        h_seq(in.h_seq),
        c_prev(in.c_prev),
        c(nans(in.c_prev.size())),
        saved(nans(in.step.cell == CellType::rnn ? 0 : std::size_t(in.step.batch) * in.step.hidden * kSavedBlocks)),
        d_out_seq(in.d_out_seq),
        dh_next(in.dh_next),
        dc(in.dc),
        dgx(nans(in.gh.size())),
        dgh(nans(in.gh.size())),
        dh_direct(nans(in.step.cell == CellType::gru ? in.dh_next.size() : 0)) {}

  void forward(bool training) const {
    const std::size_t H = step.hidden, stride = kTime * H;
    const math::CellForward<float> args{slot(gx_seq, kStepSlot, gates * H),
                                        kTime * gates * H,
                                        gh.get(),
                                        b_hh.get(),
                                        slot(h_seq, kPrevSlot, H),
                                        stride,
                                        c_prev.get(),
                                        slot(h_seq, kStepSlot, H),
                                        stride,
                                        c.get(),
                                        H,
                                        training ? saved.get() : nullptr,
                                        H};
    kernels::cell_forward(step.cell, step.batch, args, kStream);
    finish_launch();
  }
  void backward() const {
    const std::size_t H = step.hidden, stride = kTime * H;
    const math::CellBackward<float> args{saved.get(),
                                         slot(h_seq, kPrevSlot, H),
                                         stride,
                                         c_prev.get(),
                                         c.get(),
                                         slot(h_seq, kStepSlot, H),
                                         stride,
                                         slot(d_out_seq, kStepSlot, H),
                                         stride,
                                         dh_next.get(),
                                         dc.get(),
                                         dgx.get(),
                                         dgh.get(),
                                         dh_direct.get(),
                                         H};
    kernels::cell_backward(step.cell, step.batch, args, kStream);
    finish_launch();
  }
  ForwardResult forward_result() const { return {h_seq.download(), c.download(), saved.download()}; }

  CellStep step;
  int gates;
  DeviceArray<float> gx_seq, gh, b_hh, h_seq, c_prev, c, saved, d_out_seq, dh_next, dc, dgx, dgh, dh_direct;
};

class CellKernelsGpu : public ::testing::TestWithParam<CellStep> {};

TEST_P(CellKernelsGpu, ForwardMatchesTheHostMath) {
  GENRNN_REQUIRE_GPU();
  const StepInputs in = random_step(GetParam());
  const ForwardResult expected = host_forward(in);
  const DeviceStep device(in);
  device.forward(/*training=*/true);
  const ForwardResult actual = device.forward_result();
  // The whole [batch][kTime][H] buffer: slots 0 and 2 must come back unchanged.
  EXPECT_LT(max_relative_error(actual.h_seq, expected.h_seq), kTolerance);
  EXPECT_LT(max_relative_error(actual.c, expected.c), kTolerance);
  EXPECT_LT(max_relative_error(actual.saved, expected.saved), kTolerance);
}

TEST_P(CellKernelsGpu, InferenceWritesTheSameStateAsTraining) {
  GENRNN_REQUIRE_GPU();
  const StepInputs in = random_step(GetParam());
  const DeviceStep training(in), inference(in);
  training.forward(/*training=*/true);
  inference.forward(/*training=*/false);
  // Same kernel, same inputs: the same bits, whether or not the gates are saved.
  EXPECT_EQ(max_relative_error(inference.h_seq.download(), training.h_seq.download()), 0.0);
  EXPECT_EQ(max_relative_error(inference.c.download(), training.c.download()), 0.0);
}

TEST_P(CellKernelsGpu, BackwardMatchesTheHostMath) {
  GENRNN_REQUIRE_GPU();
  const StepInputs in = random_step(GetParam());
  const DeviceStep device(in);
  device.forward(/*training=*/true);
  // The host's backward starts from the device's forward results: both sides see the same bits.
  const BackwardResult expected = host_backward(in, device.forward_result());
  device.backward();
  EXPECT_LT(max_relative_error(device.dgx.download(), expected.dgx), kTolerance);
  EXPECT_LT(max_relative_error(device.dgh.download(), expected.dgh), kTolerance);
  EXPECT_LT(max_relative_error(device.dc.download(), expected.dc), kTolerance);
  EXPECT_LT(max_relative_error(device.dh_direct.download(), expected.dh_direct), kTolerance);
}

std::vector<CellStep> every_cell_and_shape() {
  std::vector<CellStep> steps;
  for (CellType cell : {CellType::lstm, CellType::gru, CellType::rnn})
    for (const auto& [batch, hidden] : {std::pair{5, 33}, {64, 512}, {kPastOneGridTurnBatch, 512}})
      steps.push_back({cell, batch, hidden});
  return steps;
}

std::string step_name(const ::testing::TestParamInfo<CellStep>& info) {
  return to_string(info.param.cell) + "_b" + std::to_string(info.param.batch) + "_h" +
         std::to_string(info.param.hidden);
}

INSTANTIATE_TEST_SUITE_P(CellsAndShapes, CellKernelsGpu, ::testing::ValuesIn(every_cell_and_shape()), step_name);

TEST(CellKernelsEmptyGpu, AnEmptyStepNeedsNoBuffersAndLaunchesNothing) {
  GENRNN_REQUIRE_GPU();
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  for (CellType cell : {CellType::lstm, CellType::gru, CellType::rnn})
    for (const auto& [batch, hidden] : {std::pair{0, 33}, {5, 0}}) {
      const std::size_t H = hidden, G = gate_count(cell);
      kernels::cell_forward(cell, batch, {nullptr, G * H, nullptr, nullptr, nullptr, H, nullptr, nullptr, H, nullptr,
                                          H, nullptr, H},
                            kStream);
      kernels::cell_backward(cell, batch, {nullptr, nullptr, H, nullptr, nullptr, nullptr, H, nullptr, H, nullptr,
                                           nullptr, nullptr, nullptr, nullptr, H},
                             kStream);
    }
  // A launch of zero blocks would have left cudaErrorInvalidConfiguration here.
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Arguments that pass every check, for a test to spoil one at a time. Every buffer is the same
// host address: each check throws before any launch, so no kernel ever sees it.
struct LauncherArgs {
  CellStep step{CellType::lstm, 5, 33};
  std::size_t gx_stride = 4 * 33, h_prev_stride = 33, h_stride = 33, c_stride = 33, d_out_stride = 33;
  float* c = buffer();  // the LSTM's c_prev, c and dc
  float* saved = buffer();
  float* dh_direct = buffer();

  static float* buffer() {
    static float never_read;
    return &never_read;
  }
  void forward() const {
    const std::size_t H = step.hidden;
    kernels::cell_forward(step.cell, step.batch,
                          {buffer(), gx_stride, buffer(), buffer(), buffer(), h_prev_stride, c, buffer(), h_stride, c,
                           c_stride, saved, H},
                          kStream);
  }
  void backward() const {
    const std::size_t H = step.hidden;
    kernels::cell_backward(step.cell, step.batch,
                           {saved, buffer(), h_prev_stride, c, c, buffer(), h_stride, buffer(), d_out_stride, buffer(),
                            c, buffer(), buffer(), dh_direct, H},
                           kStream);
  }
};

// The message of the genrnn::Error that `launch` throws, or "nothing thrown".
template <class Launch>
std::string error_of(Launch&& launch) {
  try {
    launch();
  } catch (const Error& error) {
    return error.what();
  }
  return "nothing thrown";
}

// Host only: runs, and must pass, without a GPU.
TEST(CellKernelsArguments, BadArgumentsThrowBeforeAnyLaunch) {
  const auto expect_error = [](LauncherArgs args, bool forward, const std::string& words) {
    const std::string message = error_of([&] { forward ? args.forward() : args.backward(); });
    EXPECT_NE(message.find(words), std::string::npos) << "expected \"" << words << "\", got: " << message;
  };
  LauncherArgs args;
  args.step.batch = -1;
  expect_error(args, true, "kernels::cell_forward: negative size -1");
  expect_error(args, false, "kernels::cell_backward: negative size -1");
  args = {};
  args.step.cell = static_cast<CellType>(7);
  expect_error(args, true, "unknown cell type 7");
  expect_error(args, false, "unknown cell type 7");

  // Strides shorter than their rows: the rows of consecutive streams would overlap.
  args = {};
  args.gx_stride = 4 * 33 - 1;
  expect_error(args, true, "gx_stride 131 is shorter than its row of 132 floats");
  args = {};
  args.step.cell = CellType::gru;
  args.gx_stride = 3 * 33 - 1;
  expect_error(args, true, "gx_stride 98");
  for (bool forward : {true, false}) {
    args = {};
    args.h_prev_stride = 32;
    expect_error(args, forward, "h_prev_stride 32");
    args = {};
    args.h_stride = 1;
    expect_error(args, forward, "h_stride 1");
  }
  args = {};
  args.d_out_stride = 0;
  expect_error(args, false, "d_out_stride 0");
  args = {};
  args.c_stride = 32;
  expect_error(args, true, "c_stride 32");

  // A buffer the cell needs is missing.
  args = {};
  args.c = nullptr;
  expect_error(args, true, "c_prev is null");
  expect_error(args, false, "c_prev is null");
  args = {};
  args.saved = nullptr;
  expect_error(args, false, "saved is null");
  args.step.cell = CellType::gru;
  expect_error(args, false, "saved is null");
  args = {};
  args.step.cell = CellType::gru;
  args.dh_direct = nullptr;
  expect_error(args, false, "dh_direct is null");
}

}  // namespace
}  // namespace genrnn
