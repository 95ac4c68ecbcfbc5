#pragma once
// The host SIMT executor's cooperative groups: the grid and the block, and their barriers.
#include "cuda_runtime_api.h"

namespace cooperative_groups {

class grid_group {
 public:
  // Every thread of the grid: only in a cooperative launch (kernels::launch_cooperative).
  void sync() const { ::genrnn::simt::sync_grid(); }
};
inline grid_group this_grid() { return {}; }

}  // namespace cooperative_groups
