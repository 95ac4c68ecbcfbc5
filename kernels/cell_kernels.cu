// The fused recurrent-cell kernels: one thread per (stream, hidden unit); consecutive threads
// take consecutive units, so every access is coalesced. The bodies are kernels/cell_step.cuh's,
// shared with the CPU engine (kernels/cells/).
#include <cstddef>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "kernels/block_reduce.cuh"
#include "kernels/cell_ops.hpp"
#include "kernels/cells/cell_list.cuh"

namespace genrnn::kernels {
namespace {

using math::CellStage;

template <class Cell, CellStage stage>
__global__ void fused_cell_forward(math::CellForward<float> step, std::size_t units) {
  for (std::size_t u = grid_thread_index(); u < units; u += grid_thread_count())
    math::cell_unit<Cell, stage>(step, u / step.hidden, u % step.hidden);
}

template <class Cell, CellStage stage>
__global__ void fused_cell_backward(math::CellBackward<float> step, std::size_t units) {
  for (std::size_t u = grid_thread_index(); u < units; u += grid_thread_count())
    math::cell_unit<Cell, stage>(step, u / step.hidden, u % step.hidden);
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

// A kernel's name as profilers show it, e.g. "fused_cell_forward<lstm, output>": built once per
// cell and stage.
template <class Cell, CellStage stage>
const char* cell_kernel_name(bool forward) {
  const auto name = [](const char* kernel) {
    return std::string(kernel) + "<" + Cell::name + (stage == CellStage::output ? ", output>" : ">");
  };
  static const std::string forward_name = name("fused_cell_forward"), backward_name = name("fused_cell_backward");
  return forward ? forward_name.c_str() : backward_name.c_str();
}

// Calls body(Cell{}, std::integral_constant<CellStage, stage>{}) for the cell and stage named,
// or throws where the cell has no such stage.
template <class Body>
void with_cell_stage(CellType cell, CellStage stage, const char* launcher, Body&& body) {
  math::with_cell(cell, [&](auto kind) {
    using Cell = decltype(kind);
    if (stage == CellStage::gates) return body(kind, std::integral_constant<CellStage, CellStage::gates>{});
    if constexpr (math::has_output_stage<Cell>)
      return body(kind, std::integral_constant<CellStage, CellStage::output>{});
    throw Error(std::string("kernels::") + launcher + ": the " + Cell::name + " cell has no output stage");
  });
}

}  // namespace

void cell_forward(CellType cell, CellStage stage, int batch, const math::CellForward<float>& step,
                  cudaStream_t stream) {
  constexpr const char* kLauncher = "cell_forward";
  require_non_negative(kLauncher, {batch});
  with_cell_stage(cell, stage, kLauncher, [&](auto kind, auto stage_constant) {
    using Cell = decltype(kind);
    constexpr CellStage kStage = decltype(stage_constant)::value;
    const std::size_t H = step.hidden, units = std::size_t(batch) * H;
    require_strides(kLauncher, {{"gx_stride", step.gx_stride, Cell::gates * H},
                                {"h_prev_stride", step.h_prev_stride, H},
                                {"h_stride", step.h_stride, H},
                                {"c_stride", Cell::has_cell_state ? step.c_stride : H, H}});
    if (units == 0) return;
    require_operands(kLauncher, {{"gx", step.gx}, {"gh", step.gh}, {"b_hh", step.b_hh}, {"h", step.h}});
    if constexpr (Cell::has_cell_state) require_operands(kLauncher, {{"c_prev", step.c_prev}, {"c", step.c}});
    if constexpr (Cell::direct_path) require_operands(kLauncher, {{"h_prev", step.h_prev}});
    if constexpr (kStage == CellStage::output) require_operands(kLauncher, {{"c_normalized", step.c_normalized}});
    launch(cell_kernel_name<Cell, kStage>(true), fused_cell_forward<Cell, kStage>, grid_stride_shape(units), stream,
           step, units);
  });
}

void cell_backward(CellType cell, CellStage stage, int batch, const math::CellBackward<float>& step,
                   cudaStream_t stream) {
  constexpr const char* kLauncher = "cell_backward";
  require_non_negative(kLauncher, {batch});
  with_cell_stage(cell, stage, kLauncher, [&](auto kind, auto stage_constant) {
    using Cell = decltype(kind);
    constexpr CellStage kStage = decltype(stage_constant)::value;
    const std::size_t H = step.hidden, units = std::size_t(batch) * H;
    require_strides(kLauncher, {{"h_prev_stride", step.h_prev_stride, H},
                                {"h_stride", step.h_stride, H},
                                {"d_out_stride", step.d_out_stride, H}});
    if (units == 0) return;
    require_operands(kLauncher,
                     {{"d_out", step.d_out}, {"dh_next", step.dh_next}, {"dgx", step.dgx}, {"dgh", step.dgh}});
    if constexpr (Cell::saved_blocks > 0) require_operands(kLauncher, {{"saved", step.saved}});
    if constexpr (Cell::has_cell_state)
      require_operands(kLauncher, {{"c_prev", step.c_prev}, {"c", step.c}, {"dc", step.dc}});
    if constexpr (Cell::direct_path)
      require_operands(kLauncher, {{"h_prev", step.h_prev}, {"dh_direct", step.dh_direct}});
    if constexpr (Cell::saved_blocks == 0)
      require_operands(kLauncher, {{"h", step.h}});  // what it differentiates through
    if constexpr (kStage == CellStage::output)
      require_operands(kLauncher, {{"c_normalized", step.c_normalized}, {"d_c_normalized", step.d_c_normalized}});
    launch(cell_kernel_name<Cell, kStage>(false), fused_cell_backward<Cell, kStage>, grid_stride_shape(units), stream,
           step, units);
  });
}

}  // namespace genrnn::kernels
