// The cell loops for processors with AVX2 and FMA (CMake compiles this file with -mavx2 -mfma on
// x86-64; cell_loops.cpp decides at run time whether they are used).
#include <cstddef>

#include "cpu/cell_loops.hpp"
#include "kernels/cells/cell_list.cuh"

namespace genrnn::cpu::avx2 {
#include "cpu/cell_loops.inc"
}  // namespace genrnn::cpu::avx2
