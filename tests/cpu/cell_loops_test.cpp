// The CPU cell loops split across threads (streams shared out between them) against the same
// loops on one thread: every unit's math is its own, so the two must agree to the bit.
#include "cpu/cell_loops.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "genrnn/threads.hpp"
#include "tests/support/cells.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn::cpu {
namespace {

using testing::random_uniform;

// One step's tensors, batch 32 x 256 units: past the size from which the loops split. Rows of
// gx and h are wider than they need be, as the layer driver's can be.
struct StepTensors {
  static constexpr int batch = 32, H = 256, pad = 8;
  static constexpr float kUnwritten = -7;  // no cell's h' reaches it
  const CellDescription& cell;
  int G;
  std::vector<float> gx, gh, b_hh, h_prev, c_prev, h, c, saved, c_normalized;  // forward
  std::vector<float> d_out, dh_next, dc, dgx, dgh, d_c_normalized;             // backward

  explicit StepTensors(CellType type) : cell(describe_cell(type)), G(cell.gates) {
    gx = random_uniform<float>(std::size_t(batch) * (G * H + pad), -2, 2);
    gh = random_uniform<float>(std::size_t(batch) * G * H, -2, 2);
    b_hh = random_uniform<float>(std::size_t(G) * H, -1, 1);
    h_prev = random_uniform<float>(std::size_t(batch) * (H + pad), -1, 1);
    c_prev = random_uniform<float>(std::size_t(batch) * H, -1, 1);
    h.assign(std::size_t(batch) * (H + pad), kUnwritten);
    c.assign(std::size_t(batch) * H, 0);
    saved.assign(std::size_t(batch) * cell.saved_blocks * H, 0);
    c_normalized = random_uniform<float>(std::size_t(batch) * H, -2, 2);
    d_out = random_uniform<float>(std::size_t(batch) * (H + pad), -1, 1);
    dh_next = random_uniform<float>(std::size_t(batch) * H, -1, 1);
    dc = random_uniform<float>(std::size_t(batch) * H, -1, 1);
    dgx.assign(std::size_t(batch) * G * H, 0);
    dgh.assign(std::size_t(batch) * G * H, 0);
    d_c_normalized.assign(std::size_t(batch) * H, 0);
  }

  bool has_output_stage() const { return cell.row_stages.cell(); }

  void forward() {
    const bool has_c = cell.has_cell_state;
    math::CellForward<float> step{gx.data(),
                                  std::size_t(G * H + pad),
                                  gh.data(),
                                  b_hh.data(),
                                  h_prev.data(),
                                  std::size_t(H + pad),
                                  has_c ? c_prev.data() : nullptr,
                                  h.data(),
                                  std::size_t(H + pad),
                                  has_c ? c.data() : nullptr,
                                  std::size_t(H),
                                  cell.saved_blocks > 0 ? saved.data() : nullptr,
                                  std::size_t(H)};
    step.c_normalized = c_normalized.data();
    cell_forward_rows(cell.type, math::CellStage::gates, batch, step);
    if (has_output_stage()) cell_forward_rows(cell.type, math::CellStage::output, batch, step);
  }

  void backward() {
    const bool has_c = cell.has_cell_state;
    const math::CellBackward<float> step{cell.saved_blocks > 0 ? saved.data() : nullptr,
                                         h_prev.data(),
                                         std::size_t(H + pad),
                                         has_c ? c_prev.data() : nullptr,
                                         has_c ? c.data() : nullptr,
                                         h.data(),
                                         std::size_t(H + pad),
                                         d_out.data(),
                                         std::size_t(H + pad),
                                         dh_next.data(),
                                         has_c ? dc.data() : nullptr,
                                         dgx.data(),
                                         dgh.data(),
                                         cell.direct_path ? dh_next.data() : nullptr,
                                         std::size_t(H),
                                         c_normalized.data(),
                                         d_c_normalized.data()};
    if (has_output_stage()) cell_backward_rows(cell.type, math::CellStage::output, batch, step);
    cell_backward_rows(cell.type, math::CellStage::gates, batch, step);
  }
};

class CellLoopThreads : public ::testing::TestWithParam<CellType> {};

TEST_P(CellLoopThreads, TwoThreadsGiveOneThreadsBits) {
  const int before = cpu_threads();
  set_cpu_threads(1);
  StepTensors one(GetParam());
  StepTensors two = one;
  one.forward();
  one.backward();
  set_cpu_threads(2);
  two.forward();
  two.backward();
  set_cpu_threads(before);
  for (const auto& [a, b, name] :
       {std::tuple{&one.h, &two.h, "h"}, std::tuple{&one.c, &two.c, "c"}, std::tuple{&one.saved, &two.saved, "saved"},
        std::tuple{&one.dgx, &two.dgx, "dgx"}, std::tuple{&one.dgh, &two.dgh, "dgh"},
        std::tuple{&one.dc, &two.dc, "dc"}, std::tuple{&one.dh_next, &two.dh_next, "dh_next"},
        std::tuple{&one.d_c_normalized, &two.d_c_normalized, "d_c_normalized"}})
    EXPECT_EQ(*a, *b) << name;
  // And every stream's output was written.
  for (int b = 0; b < StepTensors::batch; ++b)
    EXPECT_NE(one.h[b * (StepTensors::H + StepTensors::pad)], StepTensors::kUnwritten) << b;
}

INSTANTIATE_TEST_SUITE_P(Cells, CellLoopThreads, ::testing::ValuesIn(testing::every_cell()), testing::CellName{});

}  // namespace
}  // namespace genrnn::cpu
