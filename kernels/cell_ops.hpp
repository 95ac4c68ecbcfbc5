#pragma once
// Host launchers of the fused recurrent-cell kernels (cell_kernels.cu): one layer, one time
// step, all streams, one stage of the cell (kernels/cell_step.cuh's CellStage); every gate
// nonlinearity and the state update in one pass. One thread runs the cell's body
// (kernels/cells/) for one (stream, unit), the very body the CPU engine loops over. Device
// pointers, queued on `stream`, no synchronization. The argument structs document every
// pointer's shape and stride.
#include <cuda_runtime_api.h>

#include "genrnn/config.hpp"
#include "kernels/cell_step.cuh"

namespace genrnn::kernels {

// Throws on a stride shorter than its row, or a buffer the cell uses that is null (inside the
// kernel it would be an illegal address, which leaves the whole CUDA context unusable), and on
// an output stage of a cell without one.
void cell_forward(CellType cell, math::CellStage stage, int batch, const math::CellForward<float>& step,
                  cudaStream_t stream);
void cell_backward(CellType cell, math::CellStage stage, int batch, const math::CellBackward<float>& step,
                   cudaStream_t stream);

}  // namespace genrnn::kernels
