// Per-column work on row-major matrices: adding a bias to every row, and its gradient (the
// column sums).
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {
namespace {

// A column_sums block covers 32 adjacent columns with a 32 x 32 thread tile: a warp reads 32
// adjacent floats of one row (coalesced) and the 32 warps split the rows between them, so a
// narrow matrix (the head bias of a 96-token vocabulary over thousands of rows) still keeps
// 1024 threads per block busy.
constexpr int kColumnsPerBlock = 32;
constexpr int kRowLanes = 32;

__global__ void add_bias_to_rows(float* matrix, const float* bias, std::size_t elements, int cols) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) matrix[i] += bias[i % cols];
}

// Row lane y sums rows y, y + 32, ...; then lane 0 adds the 32 lane sums in lane order, so every
// run adds the same numbers in the same order.
__global__ void column_sums_per_chunk(const float* matrix, int rows, int cols, float* out, bool accumulate) {
  __shared__ float lane_sums[kRowLanes][kColumnsPerBlock];
  const int col = blockIdx.x * kColumnsPerBlock + threadIdx.x;
  float sum = 0.0f;
  if (col < cols)
    for (int r = threadIdx.y; r < rows; r += kRowLanes) sum += matrix[std::size_t(r) * cols + col];
  lane_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || col >= cols) return;
  float total = 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) total += lane_sums[lane][threadIdx.x];
  out[col] = accumulate ? out[col] + total : total;
}

}  // namespace

void add_bias_rows(float* matrix, const float* bias, int rows, int cols, cudaStream_t stream) {
  require_non_negative("add_bias_rows", {rows, cols});
  const std::size_t elements = std::size_t(rows) * cols;
  if (elements == 0) return;
  add_bias_to_rows<<<grid_blocks(elements), kThreadsPerBlock, 0, stream>>>(matrix, bias, elements, cols);
}

void column_sums(const float* matrix, int rows, int cols, float* out, bool accumulate, cudaStream_t stream) {
  require_non_negative("column_sums", {rows, cols});
  // rows == 0 still launches: the sums of no rows are 0, which out must then hold.
  if (cols == 0) return;
  const auto blocks = static_cast<unsigned>((std::size_t(cols) + kColumnsPerBlock - 1) / kColumnsPerBlock);
  column_sums_per_chunk<<<blocks, dim3(kColumnsPerBlock, kRowLanes), 0, stream>>>(matrix, rows, cols, out,
                                                                                  accumulate);
}

}  // namespace genrnn::kernels
