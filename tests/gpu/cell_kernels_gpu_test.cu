// The fused cell kernels (kernels/cell_ops.hpp) against the CPU engine's cell loops
// (src/cpu/cell_loops), for every cell and stage, on fresh random inputs whose rows sit inside
// wider buffers; and the launchers' argument checks. Both run the cell's own bodies: this checks
// the kernels' threads, indexing and strides (the bodies' equations are checked against PyTorch).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/cell_table.hpp"
#include "cpu/cell_loops.hpp"
#include "genrnn/config.hpp"
#include "genrnn/error.hpp"
#include "kernels/block_reduce.cuh"
#include "kernels/cell_ops.hpp"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/error_of.hpp"
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

using math::CellStage;
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
// kernels/block_reduce.cuh launches at most kMaxBlocks blocks of 256 threads: this batch of 512 units
// each makes the grid-stride loops take a second turn.
constexpr int kPastOneGridTurnBatch = kernels::kMaxBlocks * kernels::kThreadsPerBlock / 512 + 5;

constexpr cudaStream_t kStream = nullptr;  // the legacy default stream, which cudaMemcpy waits for

std::vector<float> nans(std::size_t n) { return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()); }

// One step's tensors, as host vectors: fresh random inputs, every output NaN (so an element a
// kernel fails to write fails the comparison). Buffers a cell does not use are empty.
struct StepTensors {
  std::vector<float> gx_seq, gh, b_hh, h_seq, c_prev, c, saved, c_normalized;      // forward
  std::vector<float> d_out_seq, dh_next, dc, dgx, dgh, dh_direct, d_c_normalized;  // backward
};

StepTensors random_step(const CellStep& step) {
  const CellDescription& cell = describe_cell(step.cell);
  const int G = cell.gates, H = step.hidden;
  const std::size_t units = std::size_t(step.batch) * H;
  const bool has_c = cell.has_cell_state, output_stage = cell.row_stages.cell();
  // Pre-activations up to +-4.5 reach the gates' saturated ends without pinning them at 0 or 1.
  StepTensors in{random_uniform<float>(units * kTime * G, -2.0f, 2.0f),
                 random_uniform<float>(units * G, -2.0f, 2.0f),
                 random_uniform<float>(std::size_t(G) * H, -0.5f, 0.5f),
                 random_uniform<float>(units * kTime, -1.0f, 1.0f),
                 has_c ? random_uniform<float>(units, -2.0f, 2.0f) : std::vector<float>{},
                 nans(has_c ? units : 0),
                 nans(units * cell.saved_blocks),
                 output_stage ? random_uniform<float>(units, -2.0f, 2.0f) : std::vector<float>{},
                 random_uniform<float>(units * kTime, -1.0f, 1.0f),
                 random_uniform<float>(units, -1.0f, 1.0f),
                 has_c ? random_uniform<float>(units, -1.0f, 1.0f) : std::vector<float>{},
                 nans(units * G),
                 nans(units * G),
                 nans(cell.direct_path ? units : 0),
                 nans(output_stage ? units : 0)};
  for (int b = 0; b < step.batch; ++b)
    for (int j = 0; j < H; ++j)
      in.h_seq[(std::size_t(b) * kTime + kStepSlot) * H + j] = std::numeric_limits<float>::quiet_NaN();
  return in;
}

// The step's arguments over buffers that `at` gives (a vector's data on the host, or its copy
// on the device): null for an empty one.
template <class At>
math::CellForward<float> forward_args(const CellStep& step, bool training, At&& at) {
  const std::size_t H = step.hidden, G = describe_cell(step.cell).gates, stride = kTime * H;
  math::CellForward<float> args{at(&StepTensors::gx_seq) + kStepSlot * G * H,
                                kTime * G * H,
                                at(&StepTensors::gh),
                                at(&StepTensors::b_hh),
                                at(&StepTensors::h_seq) + kPrevSlot * H,
                                stride,
                                at(&StepTensors::c_prev),
                                at(&StepTensors::h_seq) + kStepSlot * H,
                                stride,
                                at(&StepTensors::c),
                                H,
                                training ? at(&StepTensors::saved) : nullptr,
                                H};
  args.c_normalized = at(&StepTensors::c_normalized);
  return args;
}

template <class At>
math::CellBackward<float> backward_args(const CellStep& step, At&& at) {
  const std::size_t H = step.hidden, stride = kTime * H;
  return {at(&StepTensors::saved),
          at(&StepTensors::h_seq) + kPrevSlot * H,
          stride,
          at(&StepTensors::c_prev),
          at(&StepTensors::c),
          at(&StepTensors::h_seq) + kStepSlot * H,
          stride,
          at(&StepTensors::d_out_seq) + kStepSlot * H,
          stride,
          at(&StepTensors::dh_next),
          at(&StepTensors::dc),
          at(&StepTensors::dgx),
          at(&StepTensors::dgh),
          at(&StepTensors::dh_direct),
          H,
          at(&StepTensors::c_normalized),
          at(&StepTensors::d_c_normalized)};
}

// Every stage of the cell in order: forward, then backward from the forward's results.
std::vector<CellStage> stages(const CellStep& step) {
  if (describe_cell(step.cell).row_stages.cell()) return {CellStage::gates, CellStage::output};
  return {CellStage::gates};
}

// The step on the host, by the CPU engine's loops.
struct HostStep {
  HostStep(const CellStep& shape, StepTensors tensors) : step(shape), t(std::move(tensors)) {}
  float* at(std::vector<float> StepTensors::*member) {
    std::vector<float>& buffer = t.*member;
    return buffer.empty() ? nullptr : buffer.data();
  }
  void forward(bool training) {
    const auto args = forward_args(step, training, [&](auto member) { return at(member); });
    for (CellStage stage : stages(step)) cpu::cell_forward_rows(step.cell, stage, step.batch, args);
  }
  void backward() {
    const auto args = backward_args(step, [&](auto member) { return at(member); });
    const auto order = stages(step);
    for (auto stage = order.rbegin(); stage != order.rend(); ++stage)
      cpu::cell_backward_rows(step.cell, *stage, step.batch, args);
  }
  CellStep step;
  StepTensors t;
};

// The same step on the device, by the fused kernels.
struct DeviceStep {
  DeviceStep(const CellStep& shape, const StepTensors& tensors) : step(shape) {
    for (auto member : members()) arrays.push_back(std::make_unique<DeviceArray<float>>(tensors.*member));
  }
  static std::vector<std::vector<float> StepTensors::*> members() {
    return {&StepTensors::gx_seq,  &StepTensors::gh,           &StepTensors::b_hh,
            &StepTensors::h_seq,   &StepTensors::c_prev,       &StepTensors::c,
            &StepTensors::saved,   &StepTensors::c_normalized, &StepTensors::d_out_seq,
            &StepTensors::dh_next, &StepTensors::dc,           &StepTensors::dgx,
            &StepTensors::dgh,     &StepTensors::dh_direct,    &StepTensors::d_c_normalized};
  }
  const DeviceArray<float>& array(std::vector<float> StepTensors::*member) const {
    const auto all = members();
    return *arrays[std::find(all.begin(), all.end(), member) - all.begin()];
  }
  float* at(std::vector<float> StepTensors::*member) const {
    const DeviceArray<float>& buffer = array(member);
    return buffer.size() == 0 ? nullptr : buffer.get();
  }
  void forward(bool training) const {
    const auto args = forward_args(step, training, [&](auto member) { return at(member); });
    for (CellStage stage : stages(step)) kernels::cell_forward(step.cell, stage, step.batch, args, kStream);
    finish_launch();
  }
  void backward() const {
    const auto args = backward_args(step, [&](auto member) { return at(member); });
    const auto order = stages(step);
    for (auto stage = order.rbegin(); stage != order.rend(); ++stage)
      kernels::cell_backward(step.cell, *stage, step.batch, args, kStream);
    finish_launch();
  }
  std::vector<float> download(std::vector<float> StepTensors::*member) const { return array(member).download(); }

  CellStep step;
  std::vector<std::unique_ptr<DeviceArray<float>>> arrays;
};

class CellKernelsGpu : public ::testing::TestWithParam<CellStep> {};

TEST_P(CellKernelsGpu, ForwardMatchesTheCpuLoops) {
  GENRNN_REQUIRE_GPU();
  const StepTensors in = random_step(GetParam());
  HostStep host(GetParam(), in);
  host.forward(/*training=*/true);
  const DeviceStep device(GetParam(), in);
  device.forward(/*training=*/true);
  // The whole [batch][kTime][H] buffer: slots 0 and 2 must come back unchanged.
  for (auto [member, name] :
       {std::pair{&StepTensors::h_seq, "h"}, {&StepTensors::c, "c"}, {&StepTensors::saved, "saved"}})
    EXPECT_LT(max_relative_error(device.download(member), host.t.*member), kTolerance) << name;
}

TEST_P(CellKernelsGpu, InferenceWritesTheSameStateAsTraining) {
  GENRNN_REQUIRE_GPU();
  const StepTensors in = random_step(GetParam());
  const DeviceStep training(GetParam(), in), inference(GetParam(), in);
  training.forward(/*training=*/true);
  inference.forward(/*training=*/false);
  // Same kernel, same inputs: the same bits, whether or not the gates are saved.
  for (auto member : {&StepTensors::h_seq, &StepTensors::c})
    EXPECT_EQ(max_relative_error(inference.download(member), training.download(member)), 0.0);
}

TEST_P(CellKernelsGpu, BackwardMatchesTheCpuLoops) {
  GENRNN_REQUIRE_GPU();
  const DeviceStep device(GetParam(), random_step(GetParam()));
  device.forward(/*training=*/true);
  // The host's backward starts from the device's forward results: both sides see the same bits.
  StepTensors forward_done;
  for (auto member : DeviceStep::members()) forward_done.*member = device.download(member);
  HostStep host(GetParam(), forward_done);
  host.backward();
  device.backward();
  for (auto [member, name] : {std::pair{&StepTensors::dgx, "dgx"},
                              {&StepTensors::dgh, "dgh"},
                              {&StepTensors::dc, "dc"},
                              {&StepTensors::dh_direct, "dh_direct"},
                              {&StepTensors::d_c_normalized, "d_c_normalized"}})
    EXPECT_LT(max_relative_error(device.download(member), host.t.*member), kTolerance) << name;
}

std::vector<CellStep> every_cell_and_shape() {
  std::vector<CellStep> steps;
  for (CellType cell : testing::every_cell())
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
  for (CellType cell : testing::every_cell())
    for (const auto& [batch, hidden] : {std::pair{0, 33}, {5, 0}})
      for (CellStage stage : stages({cell, batch, hidden})) {
        const std::size_t H = hidden, G = describe_cell(cell).gates;
        kernels::cell_forward(
            cell, stage, batch,
            {nullptr, G * H, nullptr, nullptr, nullptr, H, nullptr, nullptr, H, nullptr, H, nullptr, H}, kStream);
        kernels::cell_backward(cell, stage, batch,
                               {nullptr, nullptr, H, nullptr, nullptr, nullptr, H, nullptr, H, nullptr, nullptr,
                                nullptr, nullptr, nullptr, H},
                               kStream);
      }
  // A launch of zero blocks would have left cudaErrorInvalidConfiguration here.
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// Arguments that pass every check, for a test to spoil one at a time. Every buffer is the same
// host address: each check throws before any launch, so no kernel ever sees it.
struct LauncherArgs {
  CellStep step{CellType::lstm, 5, 33};
  CellStage stage = CellStage::gates;
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
    kernels::cell_forward(step.cell, stage, step.batch,
                          {buffer(), gx_stride, buffer(), buffer(), buffer(), h_prev_stride, c, buffer(), h_stride, c,
                           c_stride, saved, H},
                          kStream);
  }
  void backward() const {
    const std::size_t H = step.hidden;
    kernels::cell_backward(step.cell, stage, step.batch,
                           {saved, buffer(), h_prev_stride, c, c, buffer(), h_stride, buffer(), d_out_stride, buffer(),
                            c, buffer(), buffer(), dh_direct, H},
                           kStream);
  }
};

using testing::error_of;

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
  args = {};
  args.stage = CellStage::output;  // the LSTM computes h' in its gates stage
  expect_error(args, true, "kernels::cell_forward: the lstm cell has no output stage");
  expect_error(args, false, "kernels::cell_backward: the lstm cell has no output stage");

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
