// NCCL's all-reduce of a GPU engine's gradient buffer, averaged (ncclAvg) on the engine's own
// stream: the update queued after it waits for it without the host waiting.
#include "parallel/nccl_reducer.hpp"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "engine/device_scope.hpp"
#include "genrnn/error.hpp"

namespace genrnn {

bool build_has_nccl() { return true; }

namespace {

void check(ncclResult_t status, const char* call) {
  if (status != ncclSuccess)
    throw Error(std::string("NCCL: ") + call + " failed: " + ncclGetErrorString(status) + " (" +
                ncclGetLastError(nullptr) + ")");
}

class NcclReducer final : public GradientReducer {
 public:
  NcclReducer(int gpu, int rank, int size, const std::function<void(void*, std::size_t)>& broadcast_from_rank0)
      : gpu_(gpu) {
    ncclUniqueId id{};
    if (rank == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    broadcast_from_rank0(&id, sizeof id);
    const DeviceScope scope(gpu);
    check(ncclCommInitRank(&comm_, size, id, rank), "ncclCommInitRank");
  }
  ~NcclReducer() override { ncclCommDestroy(comm_); }
  NcclReducer(const NcclReducer&) = delete;
  NcclReducer& operator=(const NcclReducer&) = delete;

  void average(const GradientBuffer& gradients) override {
    if (gradients.gpu != gpu_) throw Error("NCCL's communicator was made for another GPU than the gradients'");
    const DeviceScope scope(gpu_);
    check(ncclAllReduce(gradients.data, gradients.data, gradients.count, ncclFloat, ncclAvg, comm_,
                        static_cast<cudaStream_t>(gradients.stream)),
          "ncclAllReduce");
  }

 private:
  int gpu_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<GradientReducer> make_nccl_reducer(
    int gpu, int rank, int size, const std::function<void(void* bytes, std::size_t count)>& broadcast_from_rank0) {
  return std::make_unique<NcclReducer>(gpu, rank, size, broadcast_from_rank0);
}

}  // namespace genrnn
