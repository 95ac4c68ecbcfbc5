#include "cpu/cell_loops.hpp"

#include <cstddef>
#include <cstdlib>
#include <string>

#include "core/cell_table.hpp"
#include "core/environment.hpp"
#include "cpu/row_blocks.hpp"
#include "genrnn/error.hpp"
#include "kernels/cells/cell_list.cuh"

namespace genrnn::cpu {

namespace baseline {
#include "cpu/cell_loops.inc"
}  // namespace baseline

#if defined(GENRNN_AVX2_CELL_LOOPS)
namespace avx2 {  // cell_loops_avx2.cpp
template <class Real>
const CellLoops<Real>& cell_loops(int cell);
}  // namespace avx2
#endif

namespace {

bool use_avx2() {
#if defined(GENRNN_AVX2_CELL_LOOPS)
  static const bool yes =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !env_equals("GENRNN_CPU_LOOPS", "baseline");
  return yes;
#else
  return false;
#endif
}

// The loops of `cell` built for this processor.
template <class Real>
const CellLoops<Real>& loops_here(const CellDescription& cell) {
  const int index = static_cast<int>(cell.type);
#if defined(GENRNN_AVX2_CELL_LOOPS)
  if (use_avx2()) return avx2::cell_loops<Real>(index);
#endif
  return baseline::cell_loops<Real>(index);
}

// The streams [first, ...) of a step: each pointer moved `first` rows on (a null one stays null).
template <class Real>
math::CellForward<Real> from_stream(math::CellForward<Real> a, const CellDescription& cell, std::size_t first) {
  const std::size_t H = a.hidden;
  a.gx += first * a.gx_stride;
  a.gh += first * cell.gates * H;
  a.h_prev += first * a.h_prev_stride;
  a.h += first * a.h_stride;
  if (a.c_prev) a.c_prev += first * a.c_stride, a.c += first * a.c_stride;
  if (a.saved) a.saved += first * cell.saved_blocks * H;
  if (a.c_normalized) a.c_normalized += first * H;
  return a;
}

template <class Real>
math::CellBackward<Real> from_stream(math::CellBackward<Real> a, const CellDescription& cell, std::size_t first) {
  const std::size_t H = a.hidden;
  if (a.saved) a.saved += first * cell.saved_blocks * H;
  a.h_prev += first * a.h_prev_stride;
  if (a.c_prev) a.c_prev += first * H, a.c += first * H;
  a.h += first * a.h_stride;
  a.d_out += first * a.d_out_stride;
  a.dh_next += first * H;
  if (a.dc) a.dc += first * H;
  a.dgx += first * cell.gates * H;
  a.dgh += first * cell.gates * H;
  if (a.dh_direct) a.dh_direct += first * H;
  if (a.c_normalized) a.c_normalized += first * H, a.d_c_normalized += first * H;
  return a;
}

// One stage of a step, forward or backward, over the streams split across the threads, each
// block on the loops built for this processor.
template <class Loop, class Step>
void run_step(const CellDescription& cell, math::CellStage stage, Loop* loop, int batch, const Step& step) {
  if (!loop)
    throw Error(std::string("the ") + cell.name + " cell has no " +
                (stage == math::CellStage::output ? "output" : "gates") + " stage");
  for_row_blocks(batch, batch * step.hidden, [&](std::size_t first, std::size_t last) {
    loop(static_cast<int>(last - first), from_stream(step, cell, first));
  });
}

}  // namespace

template <class Real>
void cell_forward_rows(CellType cell, math::CellStage stage, int batch, const math::CellForward<Real>& step) {
  const CellDescription& description = describe_cell(cell);
  run_step(description, stage, loops_here<Real>(description).forward[static_cast<int>(stage)], batch, step);
}

template <class Real>
void cell_backward_rows(CellType cell, math::CellStage stage, int batch, const math::CellBackward<Real>& step) {
  const CellDescription& description = describe_cell(cell);
  run_step(description, stage, loops_here<Real>(description).backward[static_cast<int>(stage)], batch, step);
}

template void cell_forward_rows<float>(CellType, math::CellStage, int, const math::CellForward<float>&);
template void cell_forward_rows<double>(CellType, math::CellStage, int, const math::CellForward<double>&);
template void cell_backward_rows<float>(CellType, math::CellStage, int, const math::CellBackward<float>&);
template void cell_backward_rows<double>(CellType, math::CellStage, int, const math::CellBackward<double>&);

const char* cell_loops_build() { return use_avx2() ? "avx2+fma" : "baseline"; }

}  // namespace genrnn::cpu
