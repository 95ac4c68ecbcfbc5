// Embedding lookups and their gradient, and the one-hot input of models without an embedding.
#include <cstddef>

#include "kernels/block_reduce.cuh"
#include "kernels/ops.hpp"

namespace genrnn::kernels {
namespace {

// Grid-stride loops over the n x width output elements: consecutive threads take consecutive
// columns of a row, so reads and writes are coalesced.
__global__ void embedding_gather_rows(const float* table, const int* ids, std::size_t elements, int width,
                                      float* rows) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / width, c = i % width;
    rows[i] = table[std::size_t(ids[r]) * width + c];
  }
}

__global__ void embedding_scatter_add_rows(const float* row_grads, const int* ids, std::size_t elements,
                                           int width, float* table_grad) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / width, c = i % width;
    atomicAdd(&table_grad[std::size_t(ids[r]) * width + c], row_grads[i]);
  }
}

__global__ void one_hot_rows(const int* ids, std::size_t elements, int vocab, float* rows) {
  for (std::size_t i = grid_thread_index(); i < elements; i += grid_thread_count()) {
    const std::size_t r = i / vocab, v = i % vocab;
    rows[i] = v == std::size_t(ids[r]) ? 1.0f : 0.0f;
  }
}

}  // namespace

void embedding_gather(const float* table, const int* ids, int n, int width, float* rows, cudaStream_t stream) {
  require_non_negative("embedding_gather", {n, width});
  const std::size_t elements = std::size_t(n) * width;
  if (elements == 0) return;
  embedding_gather_rows<<<grid_blocks(elements), kThreadsPerBlock, 0, stream>>>(table, ids, elements, width, rows);
}

void embedding_scatter_add(const float* row_grads, const int* ids, int n, int width, float* table_grad,
                           cudaStream_t stream) {
  require_non_negative("embedding_scatter_add", {n, width});
  const std::size_t elements = std::size_t(n) * width;
  if (elements == 0) return;
  embedding_scatter_add_rows<<<grid_blocks(elements), kThreadsPerBlock, 0, stream>>>(row_grads, ids, elements,
                                                                                     width, table_grad);
}

void one_hot(const int* ids, int n, int vocab, float* rows, cudaStream_t stream) {
  require_non_negative("one_hot", {n, vocab});
  const std::size_t elements = std::size_t(n) * vocab;
  if (elements == 0) return;
  one_hot_rows<<<grid_blocks(elements), kThreadsPerBlock, 0, stream>>>(ids, elements, vocab, rows);
}

}  // namespace genrnn::kernels
