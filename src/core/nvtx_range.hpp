#pragma once
// A named range in Nsight Systems and Nsight Compute timelines for the lifetime of the object.
#include <nvtx3/nvToolsExt.h>

namespace genrnn {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace genrnn
