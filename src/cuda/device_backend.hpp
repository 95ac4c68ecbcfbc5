#pragma once
// The layer driver's arithmetic on the GPU (see src/engine/layer_driver.hpp): cuBLAS for the
// products, our kernels for the rest, everything queued on the context's stream.
#include <cstddef>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "cuda/row_major_gemm.hpp"
#include "kernels/cell_ops.hpp"
#include "kernels/ops.hpp"

namespace genrnn::cuda {

class DeviceBackend {
 public:
  using Real = float;
  template <class T>
  using Buffer = DeviceBuffer<T>;

  explicit DeviceBackend(const DeviceContext& context) : context_(context), column_scratch_(context.stream()) {}

  template <class T>
  Buffer<T> buffer() const {
    return Buffer<T>(context_.stream());
  }

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) const {
    gemm_row_major(context_.cublas(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  // cuBLAS reads every weight as it lies: nothing to keep packed.
  void weight_gemm(bool trans_w, int m, int n, int k, const float* a, int lda, const float* w, int ldw, float beta,
                   float* c, int ldc) const {
    gemm(false, trans_w, m, n, k, 1.0f, a, lda, w, ldw, beta, c, ldc);
  }
  void copy(float* to, const float* from, std::size_t n) const {
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(to, from, n * sizeof(float), cudaMemcpyDeviceToDevice, context_.stream()));
  }
  void zero(float* to, std::size_t n) const {
    GENRNN_CUDA_CHECK(cudaMemsetAsync(to, 0, n * sizeof(float), context_.stream()));
  }
  void add_bias_rows(float* matrix, const float* bias, int rows, int cols) const {
    kernels::add_bias_rows(matrix, bias, rows, cols, context_.stream());
  }
  void add_column_sums(const float* matrix, int rows, int cols, float* out) {
    column_scratch_.reserve(kernels::column_sums_scratch_floats(rows, cols));
    kernels::add_column_sums(matrix, rows, cols, out, column_scratch_.data(), context_.stream());
  }
  void gather_columns(const float* weight, int columns, const float* bias, const int* ids, int rows, int width,
                      float* out) const {
    kernels::gather_columns(weight, columns, bias, ids, rows, width, out, context_.stream());
  }
  void scatter_add_columns(const float* grads, const int* ids, int rows, int width, float* weight_grad,
                           int columns) const {
    kernels::scatter_add_columns(grads, ids, rows, width, weight_grad, columns, context_.stream());
  }
  void cell_forward(CellType cell, math::CellStage stage, int batch, const math::CellForward<float>& step) const {
    kernels::cell_forward(cell, stage, batch, step, context_.stream());
  }
  void cell_backward(CellType cell, math::CellStage stage, int batch, const math::CellBackward<float>& step) const {
    kernels::cell_backward(cell, stage, batch, step, context_.stream());
  }
  void layer_norm(const float* x, int rows, int width, const float* gain, const float* bias, float* y,
                  float* normalized, float* inv_std) const {
    kernels::layer_norm(x, rows, width, gain, bias, y, normalized, inv_std, context_.stream());
  }
  void layer_norm_backward(const float* dy, const float* normalized, const float* inv_std, const float* gain, int rows,
                           int width, float* dx, bool accumulate) const {
    kernels::layer_norm_backward(dy, normalized, inv_std, gain, rows, width, dx, accumulate, context_.stream());
  }
  void add_column_products(const float* a, const float* b, int rows, int cols, float* out) {
    column_scratch_.reserve(kernels::column_products_scratch_floats(rows, cols));
    kernels::add_column_products(a, b, rows, cols, out, column_scratch_.data(), context_.stream());
  }
  void dropout(const float* in, float* out, std::size_t n, const math::DropoutMask& mask, int layer) const {
    kernels::apply_dropout(in, out, n, mask, layer, context_.stream());
  }

 private:
  const DeviceContext& context_;
  DeviceBuffer<float> column_scratch_;  // add_column_sums' and add_column_products' partial sums
};

}  // namespace genrnn::cuda
