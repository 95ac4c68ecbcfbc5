// A build without NCCL: GPU processes cannot average their gradients.
#include "genrnn/error.hpp"
#include "parallel/nccl_reducer.hpp"

namespace genrnn {

bool build_has_nccl() { return false; }

std::unique_ptr<GradientReducer> make_nccl_reducer(int, int, int, const std::function<void(void*, std::size_t)>&) {
  throw Error(
      "this build has no NCCL, which GPU processes of a data-parallel run average their gradients with: rebuild "
      "with -DGENRNN_NCCL=ON, or train the processes on CPUs (--device cpu)");
}

}  // namespace genrnn
