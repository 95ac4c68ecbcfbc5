#include "cpu/cell_loops.hpp"

#include <cstddef>
#include <cstdlib>
#include <string>

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

}  // namespace

template <class Real>
void cell_forward_rows(CellType cell, int batch, const math::CellForward<Real>& step) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
#if defined(GENRNN_AVX2_CELL_LOOPS)
    if (use_avx2()) return avx2::forward_rows<Cell>(batch, step);
#endif
    baseline::forward_rows<Cell>(batch, step);
  });
}

template <class Real>
void cell_backward_rows(CellType cell, int batch, const math::CellBackward<Real>& step) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
#if defined(GENRNN_AVX2_CELL_LOOPS)
    if (use_avx2()) return avx2::backward_rows<Cell>(batch, step);
#endif
    baseline::backward_rows<Cell>(batch, step);
  });
}

template void cell_forward_rows<float>(CellType, int, const math::CellForward<float>&);
template void cell_forward_rows<double>(CellType, int, const math::CellForward<double>&);
template void cell_backward_rows<float>(CellType, int, const math::CellBackward<float>&);
template void cell_backward_rows<double>(CellType, int, const math::CellBackward<double>&);

const char* cell_loops_build() { return use_avx2() ? "avx2+fma" : "baseline"; }

}  // namespace genrnn::cpu
