// The fused recurrent-cell kernels: one thread per (stream, hidden unit); consecutive threads
// take consecutive units, so every access is coalesced. The bodies are kernels/cell_step.cuh's,
// shared with the CPU engine.
#include <cstddef>
#include <initializer_list>
#include <string>

#include "kernels/block_reduce.cuh"
#include "kernels/cell_ops.hpp"

namespace genrnn::kernels {
namespace {

template <class Cell>
__global__ void fused_cell_forward(math::CellForward<float> step, std::size_t units) {
  for (std::size_t u = grid_thread_index(); u < units; u += grid_thread_count())
    math::cell_forward_unit<Cell>(step, u / step.hidden, u % step.hidden);
}

template <class Cell>
__global__ void fused_cell_backward(math::CellBackward<float> step, std::size_t units) {
  for (std::size_t u = grid_thread_index(); u < units; u += grid_thread_count())
    math::cell_backward_unit<Cell>(step, u / step.hidden, u % step.hidden);
}

struct RowStride {
  const char* name;
  std::size_t stride;
  std::size_t width;  // floats of one row
};

void require_strides(const char* launcher, std::initializer_list<RowStride> strides) {
  for (const RowStride& row : strides)
    if (row.stride < row.width)
      throw Error(std::string("kernels::") + launcher + ": " + row.name + " " + std::to_string(row.stride) +
                  " is shorter than its row of " + std::to_string(row.width) + " floats");
}

struct Operand {
  const char* name;
  const void* pointer;
};

void require_operands(const char* launcher, std::initializer_list<Operand> operands) {
  for (const Operand& operand : operands)
    if (!operand.pointer) throw Error(std::string("kernels::") + launcher + ": " + operand.name + " is null");
}

// A kernel's name as profilers show it, e.g. "fused_cell_forward<Lstm>": built once per cell.
template <class Cell>
const char* cell_kernel_name(bool forward) {
  static const std::string forward_name = std::string("fused_cell_forward<") + Cell::name + ">";
  static const std::string backward_name = std::string("fused_cell_backward<") + Cell::name + ">";
  return forward ? forward_name.c_str() : backward_name.c_str();
}

}  // namespace

void cell_forward(CellType cell, int batch, const math::CellForward<float>& step, cudaStream_t stream) {
  constexpr const char* kLauncher = "cell_forward";
  require_non_negative(kLauncher, {batch});
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    const std::size_t H = step.hidden, units = std::size_t(batch) * H;
    require_strides(kLauncher, {{"gx_stride", step.gx_stride, Cell::gates * H},
                                {"h_prev_stride", step.h_prev_stride, H},
                                {"h_stride", step.h_stride, H},
                                {"c_stride", Cell::has_cell_state ? step.c_stride : H, H}});
    if (units == 0) return;
    require_operands(kLauncher, {{"gx", step.gx}, {"gh", step.gh}, {"b_hh", step.b_hh}, {"h", step.h}});
    if constexpr (Cell::has_cell_state) require_operands(kLauncher, {{"c_prev", step.c_prev}, {"c", step.c}});
    if constexpr (Cell::direct_path) require_operands(kLauncher, {{"h_prev", step.h_prev}});
    launch(cell_kernel_name<Cell>(true), fused_cell_forward<Cell>, grid_stride_shape(units), stream, step, units);
  });
}

void cell_backward(CellType cell, int batch, const math::CellBackward<float>& step, cudaStream_t stream) {
  constexpr const char* kLauncher = "cell_backward";
  require_non_negative(kLauncher, {batch});
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    const std::size_t H = step.hidden, units = std::size_t(batch) * H;
    require_strides(kLauncher, {{"h_prev_stride", step.h_prev_stride, H},
                                {"h_stride", step.h_stride, H},
                                {"d_out_stride", step.d_out_stride, H}});
    if (units == 0) return;
    require_operands(kLauncher, {{"d_out", step.d_out}, {"dh_next", step.dh_next}, {"dgx", step.dgx}, {"dgh", step.dgh}});
    if constexpr (Cell::saved_blocks > 0) require_operands(kLauncher, {{"saved", step.saved}});
    if constexpr (Cell::has_cell_state)
      require_operands(kLauncher, {{"c_prev", step.c_prev}, {"c", step.c}, {"dc", step.dc}});
    if constexpr (Cell::direct_path) require_operands(kLauncher, {{"h_prev", step.h_prev}, {"dh_direct", step.dh_direct}});
    if constexpr (Cell::saved_blocks == 0) require_operands(kLauncher, {{"h", step.h}});  // what it differentiates through
    launch(cell_kernel_name<Cell>(false), fused_cell_backward<Cell>, grid_stride_shape(units), stream, step, units);
  });
}

}  // namespace genrnn::kernels
