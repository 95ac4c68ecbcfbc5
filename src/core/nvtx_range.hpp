#pragma once
// A named range in Nsight Systems and Nsight Compute timelines for the lifetime of the object;
// nothing in a build without CUDA.
#if GENRNN_WITH_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

namespace genrnn {

class NvtxRange {
 public:
#if GENRNN_WITH_NVTX
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
#else
  explicit NvtxRange(const char*) {}
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace genrnn
