// Embedding lookups and their gradient, and the one-hot input's projection: a column of W_ih
// per token, gathered (and its gradient scattered back) without any rows x V matrix.
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {
namespace {

// Grid-stride loops over the rows x width output elements: consecutive threads take
// consecutive columns of a row, so the row-major reads and writes are coalesced.
__global__ void embedding_gather_rows(const float* table, const int* ids, std::size_t elements, int width,
                                      float* rows) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / width, c = i % width;
    rows[i] = table[std::size_t(ids[r]) * width + c];
  }
}

__global__ void embedding_scatter_add_rows(const float* row_grads, const int* ids, std::size_t elements, int width,
                                           float* table_grad) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / width, c = i % width;
    atomicAdd(&table_grad[std::size_t(ids[r]) * width + c], row_grads[i]);
  }
}

// Element (r, g) reads weight[g][ids[r]]: a column of a row-major matrix, one float per row.
__global__ void gather_weight_columns(const float* weight, int columns, const float* bias, const int* ids,
                                      std::size_t elements, int width, float* out) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / width, g = i % width;
    const float w = weight[g * columns + ids[r]];
    out[i] = bias ? w + bias[g] : w;
  }
}

__global__ void scatter_add_weight_columns(const float* grads, const int* ids, std::size_t elements, int width,
                                           float* weight_grad, int columns) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / width, g = i % width;
    atomicAdd(&weight_grad[g * columns + ids[r]], grads[i]);
  }
}

}  // namespace

void embedding_gather(const float* table, const int* ids, int n, int width, float* rows, cudaStream_t stream) {
  require_non_negative("embedding_gather", {n, width});
  const std::size_t elements = std::size_t(n) * width;
  if (elements == 0) return;
  launch("embedding_gather_rows", embedding_gather_rows, grid_stride_shape(elements), stream, table, ids, elements,
         width, rows);
}

void embedding_scatter_add(const float* row_grads, const int* ids, int n, int width, float* table_grad,
                           cudaStream_t stream) {
  require_non_negative("embedding_scatter_add", {n, width});
  const std::size_t elements = std::size_t(n) * width;
  if (elements == 0) return;
  launch("embedding_scatter_add_rows", embedding_scatter_add_rows, grid_stride_shape(elements), stream, row_grads, ids,
         elements, width, table_grad);
}

void gather_columns(const float* weight, int columns, const float* bias, const int* ids, int rows, int width,
                    float* out, cudaStream_t stream) {
  require_non_negative("gather_columns", {columns, rows, width});
  const std::size_t elements = std::size_t(rows) * width;
  if (elements == 0) return;
  launch("gather_weight_columns", gather_weight_columns, grid_stride_shape(elements), stream, weight, columns, bias,
         ids, elements, width, out);
}

void scatter_add_columns(const float* grads, const int* ids, int rows, int width, float* weight_grad, int columns,
                         cudaStream_t stream) {
  require_non_negative("scatter_add_columns", {columns, rows, width});
  const std::size_t elements = std::size_t(rows) * width;
  if (elements == 0) return;
  launch("scatter_add_weight_columns", scatter_add_weight_columns, grid_stride_shape(elements), stream, grads, ids,
         elements, width, weight_grad, columns);
}

}  // namespace genrnn::kernels
