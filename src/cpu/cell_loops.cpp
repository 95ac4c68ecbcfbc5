#include "cpu/cell_loops.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string>

#if defined(GENRNN_OPENMP_CELLS)
#include <omp.h>

#include "cpu/matrix_products.hpp"
#include "genrnn/threads.hpp"
#endif

namespace genrnn::cpu {

namespace baseline {
#include "cpu/cell_loops.inc"
}  // namespace baseline

#if defined(GENRNN_AVX2_CELL_LOOPS)
namespace avx2 {  // cell_loops_avx2.cpp
template <class Cell, class Real>
void forward_rows(int batch, const math::CellForward<Real>& step);
template <class Cell, class Real>
void backward_rows(int batch, const math::CellBackward<Real>& step);
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

// The streams [first, ...) of a step: each pointer moved `first` rows on (none that is null).
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

// run(first, count) over all streams: split across the CPU threads (the OpenMP team oneDNN's
// products run on, which would otherwise wait through the cell) where there are units enough
// for a thread's start (a few us) to pay. Not beside OpenBLAS's products: its threads and
// OpenMP's, each spinning while the other works, would share the cores (char256 trained 4x
// slower so).
template <class Run>
void over_streams(int batch, [[maybe_unused]] std::size_t hidden, Run&& run) {
#if defined(GENRNN_OPENMP_CELLS)
  static const bool beside_onednn = std::string(matrix_products_build()) == "onednn";
  const int threads = std::min(cpu_threads(), batch);
  if (beside_onednn && threads > 1 && std::size_t(batch) * hidden >= 4096) {
#pragma omp parallel num_threads(threads)
    {
      const int part = omp_get_thread_num(), parts = omp_get_num_threads();
      const int first = batch * part / parts, last = batch * (part + 1) / parts;
      run(first, last - first);
    }
    return;
  }
#endif
  run(0, batch);
}

}  // namespace

template <class Real>
void cell_forward_rows(CellType cell, int batch, const math::CellForward<Real>& step) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    over_streams(batch, step.hidden, [&](int first, int count) {
      const math::CellForward<Real> rows = from_stream<Cell>(step, first);
#if defined(GENRNN_AVX2_CELL_LOOPS)
      if (use_avx2()) return avx2::forward_rows<Cell>(count, rows);
#endif
      baseline::forward_rows<Cell>(count, rows);
    });
  });
}

template <class Real>
void cell_backward_rows(CellType cell, int batch, const math::CellBackward<Real>& step) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    over_streams(batch, step.hidden, [&](int first, int count) {
      const math::CellBackward<Real> rows = from_stream<Cell>(step, first);
#if defined(GENRNN_AVX2_CELL_LOOPS)
      if (use_avx2()) return avx2::backward_rows<Cell>(count, rows);
#endif
      baseline::backward_rows<Cell>(count, rows);
    });
  });
}

template void cell_forward_rows<float>(CellType, int, const math::CellForward<float>&);
template void cell_forward_rows<double>(CellType, int, const math::CellForward<double>&);
template void cell_backward_rows<float>(CellType, int, const math::CellBackward<float>&);
template void cell_backward_rows<double>(CellType, int, const math::CellBackward<double>&);

const char* cell_loops_build() { return use_avx2() ? "avx2+fma" : "baseline"; }

}  // namespace genrnn::cpu
