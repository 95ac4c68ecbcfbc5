// Per-column work on row-major matrices: adding a bias to every row, and its gradient (the
// column sums); the column sums of two matrices' products (a layer norm's gain gradient).
#include <algorithm>
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {
namespace {

// A column-sums block covers 32 adjacent columns of one chunk of rows with a 32 x 32 thread
// tile: a warp reads 32 adjacent floats of one row (coalesced) and the 32 warps split the
// chunk's rows between them.
constexpr int kColumnsPerBlock = 32;
constexpr int kRowLanes = 32;
// Chunks of at least this many rows, and at most enough of them for about 1024 blocks.
constexpr int kMinChunkRows = 256;
constexpr int kTargetBlocks = 1024;

int column_blocks(int cols) { return (cols + kColumnsPerBlock - 1) / kColumnsPerBlock; }

// The number of row chunks for a rows x cols matrix: a function of the shape alone, so the
// order of the additions, and the result, is the same every run.
int row_chunks(int rows, int cols) {
  const int by_rows = std::max(1, rows / kMinChunkRows);
  const int by_blocks = std::max(1, kTargetBlocks / column_blocks(cols));
  return std::min(by_rows, by_blocks);
}

__global__ void add_bias_to_rows(float* matrix, const float* bias, std::size_t elements, int cols) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) matrix[i] += bias[i % cols];
}

// Pass 1, block (x, y): columns 32x .. 32x + 31 of chunk y's rows. Row lane l sums the chunk's
// rows l, l + 32, ...; lane 0 then adds the 32 lane sums in lane order into partials[y][col].
// The terms are a's elements, or a[r][col] * b[r][col] where b is not null: one kernel for the
// sums and the products (a branch the whole grid takes the same way).
__global__ void column_sums_per_chunk(const float* a, const float* b, int rows, int cols, int chunk_rows,
                                      float* partials) {
  __shared__ float lane_sums[kRowLanes][kColumnsPerBlock];
  const int col = blockIdx.x * kColumnsPerBlock + threadIdx.x;
  const int first = blockIdx.y * chunk_rows, last = min(rows, first + chunk_rows);
  float sum = 0.0f;
  if (col < cols)
    for (int r = first + threadIdx.y; r < last; r += kRowLanes) {
      const std::size_t i = std::size_t(r) * cols + col;
      sum += b ? a[i] * b[i] : a[i];
    }
  lane_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || col >= cols) return;
  float total = 0.0f;
  for (int lane = 0; lane < kRowLanes; ++lane) total += lane_sums[lane][threadIdx.x];
  partials[std::size_t(blockIdx.y) * cols + col] = total;
}

// Pass 2: out[col] += the chunks' partial sums, in chunk order.
__global__ void add_chunk_sums(const float* partials, int chunks, int cols, float* out) {
  for (std::size_t col = grid_thread_index(); col < std::size_t(cols); col += grid_thread_count()) {
    float total = 0.0f;
    for (int chunk = 0; chunk < chunks; ++chunk) total += partials[std::size_t(chunk) * cols + col];
    out[col] += total;
  }
}

// out[c] += the column sums of a, or of a * b where b is not null, for `launcher`.
void add_column_terms(const char* launcher, const float* a, const float* b, int rows, int cols, float* out,
                      float* scratch, cudaStream_t stream) {
  require_non_negative(launcher, {rows, cols});
  if (rows == 0 || cols == 0) return;  // the sums of no rows add nothing
  const int chunks = row_chunks(rows, cols);
  const int chunk_rows = (rows + chunks - 1) / chunks;
  launch("column_sums_per_chunk", column_sums_per_chunk,
         {dim3(column_blocks(cols), chunks), dim3(kColumnsPerBlock, kRowLanes)}, stream, a, b, rows, cols, chunk_rows,
         scratch);
  launch("add_chunk_sums", add_chunk_sums, grid_stride_shape(std::size_t(cols)), stream, scratch, chunks, cols, out);
}

}  // namespace

void add_bias_rows(float* matrix, const float* bias, int rows, int cols, cudaStream_t stream) {
  require_non_negative("add_bias_rows", {rows, cols});
  const std::size_t elements = std::size_t(rows) * cols;
  if (elements == 0) return;
  launch("add_bias_to_rows", add_bias_to_rows, grid_stride_shape(elements), stream, matrix, bias, elements, cols);
}

std::size_t column_sums_scratch_floats(int rows, int cols) {
  if (rows <= 0 || cols <= 0) return 0;
  return std::size_t(row_chunks(rows, cols)) * cols;
}

void add_column_sums(const float* matrix, int rows, int cols, float* out, float* scratch, cudaStream_t stream) {
  add_column_terms("add_column_sums", matrix, nullptr, rows, cols, out, scratch, stream);
}

std::size_t column_products_scratch_floats(int rows, int cols) { return column_sums_scratch_floats(rows, cols); }

void add_column_products(const float* a, const float* b, int rows, int cols, float* out, float* scratch,
                         cudaStream_t stream) {
  add_column_terms("add_column_products", a, b, rows, cols, out, scratch, stream);
}

}  // namespace genrnn::kernels
