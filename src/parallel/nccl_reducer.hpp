#pragma once
// Averaging a GPU engine's gradients between the run's processes with NCCL, on the engine's
// stream. Declared without CUDA or NCCL headers: a build without NCCL makes none.
#include <cstddef>
#include <functional>
#include <memory>

#include "engine/engine.hpp"
#include "genrnn/parallel.hpp"  // build_has_nccl, which the file that defines make_nccl_reducer defines

namespace genrnn {

// A reducer of GPU `gpu`'s buffers among `size` processes, this one `rank`: NCCL's communicator
// starts from rank 0's unique id, which `broadcast_from_rank0(bytes, count)` hands to the
// others. Throws Error in a build without NCCL, or where NCCL fails, with its message.
std::unique_ptr<GradientReducer> make_nccl_reducer(
    int gpu, int rank, int size, const std::function<void(void* bytes, std::size_t count)>& broadcast_from_rank0);

}  // namespace genrnn
