#pragma once
// The cells for parameterised tests, from the cell table: a new cell is tested by being listed
// in kernels/cells/cell_list.cuh, never by being named here.
#include <vector>

#include "core/cell_table.hpp"

namespace genrnn::testing {

inline std::vector<CellType> every_cell() {
  std::vector<CellType> cells;
  for (const CellDescription& cell : cell_table()) cells.push_back(cell.type);
  return cells;
}

// A test name's suffix: the cell's name ("lstm").
struct CellName {
  template <class Info>
  std::string operator()(const Info& info) const {
    return describe_cell(info.param).name;
  }
};

}  // namespace genrnn::testing
