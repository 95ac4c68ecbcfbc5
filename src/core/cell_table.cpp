#include "core/cell_table.hpp"

#include "genrnn/error.hpp"
#include "kernels/cells/cell_list.cuh"

namespace genrnn {

const std::vector<CellDescription>& cell_table() {
  static const std::vector<CellDescription> table = [] {
    std::vector<CellDescription> cells;
    math::for_each_cell([&](auto kind) {
      using Cell = decltype(kind);
      cells.push_back({math::cell_type<Cell>, Cell::name, Cell::pytorch_module, Cell::gate_order, Cell::gates,
                       Cell::saved_blocks, Cell::has_cell_state, Cell::direct_path,
                       std::vector<math::LayerTensor>(Cell::tensors.begin(), Cell::tensors.end()), Cell::row_stages,
                       Cell::cudnn_mode});
    });
    return cells;
  }();
  return table;
}

const CellDescription& describe_cell(CellType cell) {
  const auto index = static_cast<std::size_t>(cell);
  if (index >= cell_table().size()) throw Error("unknown cell type " + std::to_string(index));
  return cell_table()[index];
}

}  // namespace genrnn
