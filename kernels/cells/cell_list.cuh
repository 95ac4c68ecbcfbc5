#pragma once
// The one list of cells. Everything that runs or describes cells (the cell table, the CPU loops,
// the fused and persistent kernels, the tests' cell lists) expands this list: a new cell is its
// file in this folder, its CellType value (include/genrnn/config.hpp) and its place here.
#include <string>

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

// In CellType's order: a cell's position is its CellType value.
using Cells = CellList<Lstm, Gru, Rnn, LnLstm>;

template <class... List>
constexpr bool in_cell_type_order(CellList<List...>) {
  int position = 0;
  bool ordered = true;
  ((ordered = ordered && static_cast<int>(List::type) == position++), ...);
  return ordered;
}
static_assert(in_cell_type_order(Cells{}), "Cells must list the cells in CellType's order");

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
    if (decltype(kind)::type != cell) return;
    found = true;
    body(kind);
  });
  if (!found) throw Error("unknown cell type " + std::to_string(static_cast<int>(cell)));
}

}  // namespace genrnn::math
