#include "cpu/cell_loops.hpp"

#include <cstddef>
#include <cstdlib>
#include <string>

#include "cpu/row_blocks.hpp"

namespace genrnn::cpu {

namespace baseline {
#include "cpu/cell_loops.inc"
}  // namespace baseline

#if defined(GENRNN_AVX2_CELL_LOOPS)
namespace avx2 {  // cell_loops_avx2.cpp
template <class Cell, class Real>
void step_rows(int batch, const math::CellForward<Real>& step);
template <class Cell, class Real>
void step_rows(int batch, const math::CellBackward<Real>& step);
}  // namespace avx2
#endif

namespace {

bool use_avx2() {
#if defined(GENRNN_AVX2_CELL_LOOPS)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          !(std::getenv("GENRNN_CPU_LOOPS") && std::string(std::getenv("GENRNN_CPU_LOOPS")) == "baseline");
  return yes;
#else
  return false;
#endif
}

// The streams [first, ...) of a step: each pointer moved `first` rows on (a null one stays null).
template <class Cell, class Real>
math::CellForward<Real> from_stream(math::CellForward<Real> a, std::size_t first) {
  const std::size_t H = a.hidden;
  a.gx += first * a.gx_stride;
  a.gh += first * Cell::gates * H;
  a.h_prev += first * a.h_prev_stride;
  a.h += first * a.h_stride;
  if (a.c_prev) a.c_prev += first * a.c_stride, a.c += first * a.c_stride;
  if (a.saved) a.saved += first * Cell::saved_blocks * H;
  return a;
}

template <class Cell, class Real>
math::CellBackward<Real> from_stream(math::CellBackward<Real> a, std::size_t first) {
  const std::size_t H = a.hidden;
  if (a.saved) a.saved += first * Cell::saved_blocks * H;
  a.h_prev += first * a.h_prev_stride;
  if (a.c_prev) a.c_prev += first * H, a.c += first * H;
  a.h += first * a.h_stride;
  a.d_out += first * a.d_out_stride;
  a.dh_next += first * H;
  if (a.dc) a.dc += first * H;
  a.dgx += first * Cell::gates * H;
  a.dgh += first * Cell::gates * H;
  if (a.dh_direct) a.dh_direct += first * H;
  return a;
}

// One step, forward or backward, over the streams split across the threads, each block on the
// loops built for this processor.
template <class Step>
void run_step(CellType cell, int batch, const Step& step) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    for_row_blocks(batch, batch * step.hidden, [&](std::size_t first, std::size_t last) {
      const Step rows = from_stream<Cell>(step, first);
      const int count = static_cast<int>(last - first);
#if defined(GENRNN_AVX2_CELL_LOOPS)
      if (use_avx2()) return avx2::step_rows<Cell>(count, rows);
#endif
      baseline::step_rows<Cell>(count, rows);
    });
  });
}

}  // namespace

template <class Real>
void cell_forward_rows(CellType cell, int batch, const math::CellForward<Real>& step) {
  run_step(cell, batch, step);
}

template <class Real>
void cell_backward_rows(CellType cell, int batch, const math::CellBackward<Real>& step) {
  run_step(cell, batch, step);
}

template void cell_forward_rows<float>(CellType, int, const math::CellForward<float>&);
template void cell_forward_rows<double>(CellType, int, const math::CellForward<double>&);
template void cell_backward_rows<float>(CellType, int, const math::CellBackward<float>&);
template void cell_backward_rows<double>(CellType, int, const math::CellBackward<double>&);

const char* cell_loops_build() { return use_avx2() ? "avx2+fma" : "baseline"; }

}  // namespace genrnn::cpu
