// The CPU cell loops split across threads (streams shared out between them) against the same
// loops on one thread: every unit's math is its own, so the two must agree to the bit.
#include "cpu/cell_loops.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "genrnn/threads.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn::cpu {
namespace {

using testing::random_uniform;

// One step's tensors, batch 32 x 256 units: past the size from which the loops split. Rows of
// gx and h are wider than they need be, as the layer driver's can be.
struct StepTensors {
  static constexpr int batch = 32, H = 256, pad = 8;
  int G;
  std::vector<float> gx, gh, b_hh, h_prev, c_prev, h, c, saved;     // forward
  std::vector<float> d_out, dh_next, dc, dgx, dgh;                  // backward

  explicit StepTensors(CellType cell) : G(cell == CellType::lstm ? 4 : cell == CellType::gru ? 3 : 1) {
    gx = random_uniform<float>(std::size_t(batch) * (G * H + pad), -2, 2);
    gh = random_uniform<float>(std::size_t(batch) * G * H, -2, 2);
    b_hh = random_uniform<float>(std::size_t(G) * H, -1, 1);
    h_prev = random_uniform<float>(std::size_t(batch) * (H + pad), -1, 1);
    c_prev = random_uniform<float>(std::size_t(batch) * H, -1, 1);
    h.assign(std::size_t(batch) * (H + pad), 0);
    c.assign(std::size_t(batch) * H, 0);
    saved.assign(std::size_t(batch) * 4 * H, 0);
    d_out = random_uniform<float>(std::size_t(batch) * (H + pad), -1, 1);
    dh_next = random_uniform<float>(std::size_t(batch) * H, -1, 1);
    dc = random_uniform<float>(std::size_t(batch) * H, -1, 1);
    dgx.assign(std::size_t(batch) * G * H, 0);
    dgh.assign(std::size_t(batch) * G * H, 0);
  }

  void forward(CellType cell) {
    const bool lstm = cell == CellType::lstm;
    const math::CellForward<float> step{gx.data(), std::size_t(G * H + pad), gh.data(), b_hh.data(),
                                        h_prev.data(), std::size_t(H + pad), lstm ? c_prev.data() : nullptr,
                                        h.data(), std::size_t(H + pad), lstm ? c.data() : nullptr, std::size_t(H),
                                        cell == CellType::rnn ? nullptr : saved.data(), std::size_t(H)};
    cell_forward_rows(cell, batch, step);
  }

  void backward(CellType cell) {
    const bool lstm = cell == CellType::lstm, gru = cell == CellType::gru;
    const math::CellBackward<float> step{cell == CellType::rnn ? nullptr : saved.data(),
                                         h_prev.data(), std::size_t(H + pad),
                                         lstm ? c_prev.data() : nullptr, lstm ? c.data() : nullptr,
                                         h.data(), std::size_t(H + pad),
                                         d_out.data(), std::size_t(H + pad),
                                         dh_next.data(), lstm ? dc.data() : nullptr,
                                         dgx.data(), dgh.data(), gru ? dh_next.data() : nullptr, std::size_t(H)};
    cell_backward_rows(cell, batch, step);
  }
};

class CellLoopThreads : public ::testing::TestWithParam<CellType> {};

TEST_P(CellLoopThreads, TwoThreadsGiveOneThreadsBits) {
  const int before = cpu_threads();
  set_cpu_threads(1);
  StepTensors one(GetParam());
  StepTensors two = one;
  one.forward(GetParam());
  one.backward(GetParam());
  set_cpu_threads(2);
  two.forward(GetParam());
  two.backward(GetParam());
  set_cpu_threads(before);
  for (const auto& [a, b, name] : {std::tuple{&one.h, &two.h, "h"}, std::tuple{&one.c, &two.c, "c"},
                                   std::tuple{&one.saved, &two.saved, "saved"}, std::tuple{&one.dgx, &two.dgx, "dgx"},
                                   std::tuple{&one.dgh, &two.dgh, "dgh"}, std::tuple{&one.dc, &two.dc, "dc"},
                                   std::tuple{&one.dh_next, &two.dh_next, "dh_next"}})
    EXPECT_EQ(*a, *b) << name;
  // And every stream's output was written.
  for (int b = 0; b < StepTensors::batch; ++b) EXPECT_NE(one.h[b * (StepTensors::H + StepTensors::pad)], 0) << b;
}

INSTANTIATE_TEST_SUITE_P(Cells, CellLoopThreads, ::testing::Values(CellType::lstm, CellType::gru, CellType::rnn),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace genrnn::cpu
