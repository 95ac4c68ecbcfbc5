#pragma once
// The one list of cells. Everything that runs or describes cells (the cell table, the CPU loops,
// the fused and persistent kernels, the tests' cell lists) expands this list: a new cell is its
// file in this folder and its place here. Its CellType is its position; include/genrnn/config.hpp
// names the positions of the cells the public API names.
#include <string>
#include <type_traits>

#include "genrnn/error.hpp"
#include "kernels/cells/gru.cuh"
#include "kernels/cells/lnlstm.cuh"
#include "kernels/cells/lstm.cuh"
#include "kernels/cells/rnn.cuh"

namespace genrnn::math {

template <class... List>
struct CellList {
  static constexpr int size = sizeof...(List);
};

using Cells = CellList<Lstm, Gru, Rnn, LnLstm>;

// A cell's CellType: its position in the list.
template <class Cell, class... List>
constexpr CellType position_in(CellList<List...>) {
  int position = 0, found = -1;
  ((std::is_same_v<Cell, List> ? found = position : ++position), ...);
  return static_cast<CellType>(found);
}
template <class Cell>
constexpr CellType cell_type = position_in<Cell>(Cells{});
static_assert(cell_type<Lstm> == CellType::lstm && cell_type<Gru> == CellType::gru && cell_type<Rnn> == CellType::rnn &&
                  cell_type<LnLstm> == CellType::lnlstm,
              "CellType names the cells at their positions in Cells");

// A cell with an output body, run after its cell row stage.
template <class Cell>
constexpr bool has_output_stage = Cell::row_stages.cell();

// A cell with layer normalisations (row stages) around its bodies.
template <class Cell>
constexpr bool has_row_stages = Cell::row_stages.projections() || Cell::row_stages.cell();

// One unit of one stage of Cell, forward or backward.
template <class Cell, CellStage stage, class Real>
GENRNN_HD void cell_unit(const CellForward<Real>& a, size_t b, size_t j) {
  if constexpr (stage == CellStage::output)
    Cell::output(a, b, j);
  else
    Cell::forward(a, b, j);
}
template <class Cell, CellStage stage, class Real>
GENRNN_HD void cell_unit(const CellBackward<Real>& a, size_t b, size_t j) {
  if constexpr (stage == CellStage::output)
    Cell::output_backward(a, b, j);
  else
    Cell::backward(a, b, j);
}

// Calls body(Cell{}) for every cell of a list, by default Cells.
template <class Body, class... List>
void for_each_cell(Body&& body, CellList<List...>) {
  (body(List{}), ...);
}
template <class Body>
void for_each_cell(Body&& body) {
  for_each_cell(body, Cells{});
}

// Calls body(Cell{}) for the cell that `cell` names: the one switch from the run-time cell type
// to the compile-time one (host code).
template <class Body>
void with_cell(CellType cell, Body&& body) {
  bool found = false;
  for_each_cell([&](auto kind) {
    if (cell_type<decltype(kind)> != cell) return;
    found = true;
    body(kind);
  });
  if (!found) throw Error("unknown cell type " + std::to_string(static_cast<int>(cell)));
}

}  // namespace genrnn::math
