#pragma once
// One stage of a cell (kernels/cell_step.cuh's CellStage) over every unit of every stream, on
// the host: the loops the CPU engine runs (HostBackend), vectorised over the units. Built twice,
// for plain x86-64 and for AVX2 + FMA, and the second is taken where the processor has them
// (elsewhere, one build of them).
#include "genrnn/config.hpp"
#include "kernels/cell_step.cuh"

namespace genrnn::cpu {

template <class Real>
void cell_forward_rows(CellType cell, math::CellStage stage, int batch, const math::CellForward<Real>& step);
template <class Real>
void cell_backward_rows(CellType cell, math::CellStage stage, int batch, const math::CellBackward<Real>& step);

// Which build of the loops runs here: "avx2+fma", or "baseline" (no AVX2 and FMA, or
// GENRNN_CPU_LOOPS=baseline in the environment, to compare or to rule them out).
const char* cell_loops_build();

// One build's loops of one cell, by stage (null: a stage the cell lacks); cell_loops.inc
// fills them.
template <class Real>
struct CellLoops {
  void (*forward[2])(int batch, const math::CellForward<Real>& step);
  void (*backward[2])(int batch, const math::CellBackward<Real>& step);
};

}  // namespace genrnn::cpu
