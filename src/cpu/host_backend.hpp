#pragma once
// The layer driver's arithmetic on the host (see src/engine/layer_driver.hpp): the products
// through matrix_products in float (oneDNN, weights packed once) and OpenBLAS in double (the
// gradient checks), plain loops for the rest, and the very cell bodies the CUDA kernels run (in
// cell_loops, vectorised).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "cpu/blas.hpp"
#include "cpu/cell_loops.hpp"
#include "cpu/matrix_products.hpp"
#include "kernels/cell_step.cuh"
#include "kernels/dropout_math.cuh"
#include "kernels/layer_norm_math.cuh"

namespace genrnn::cpu {

// Host memory that only grows, so that a steady loop allocates nothing after its first step.
template <class T>
class HostBuffer {
 public:
  void reserve(std::size_t count) {
    if (count > values_.size()) values_.resize(count);
  }
  T* data() { return values_.data(); }
  const T* data() const { return values_.data(); }

 private:
  std::vector<T> values_;
};

template <class RealType>
struct HostBackend {
  using Real = RealType;
  template <class T>
  using Buffer = HostBuffer<T>;
  template <class T>
  Buffer<T> buffer() const {
    return {};
  }

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, Real alpha, const Real* a, int lda, const Real* b, int ldb,
            Real beta, Real* c, int ldc) {
    if constexpr (std::is_same_v<Real, float>)
      products_.gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
      cpu::gemm<Real>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void weight_gemm(bool trans_w, int m, int n, int k, const Real* a, int lda, const Real* w, int ldw, Real beta,
                   Real* c, int ldc) {
    if constexpr (std::is_same_v<Real, float>)
      products_.weight_gemm(trans_w, m, n, k, a, lda, w, ldw, beta != 0, c, ldc);
    else
      cpu::gemm<Real>(false, trans_w, m, n, k, Real(1), a, lda, w, ldw, beta, c, ldc);
  }
  void weights_changed() {
    if constexpr (std::is_same_v<Real, float>) products_.weights_changed();
  }
  void copy(Real* to, const Real* from, std::size_t n) const { std::copy_n(from, n, to); }
  void zero(Real* to, std::size_t n) const { std::fill_n(to, n, Real(0)); }
  void add_bias_rows(Real* matrix, const Real* bias, int rows, int cols) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r)
      for (int c = 0; c < cols; ++c) matrix[r * cols + c] += bias[c];
  }
  void add_column_sums(const Real* matrix, int rows, int cols, Real* out) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r)
      for (int c = 0; c < cols; ++c) out[c] += matrix[r * cols + c];
  }
  void gather_columns(const Real* weight, int columns, const Real* bias, const int* ids, int rows, int width,
                      Real* out) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r)
      for (std::size_t g = 0; g < std::size_t(width); ++g)
        out[r * width + g] = weight[g * columns + ids[r]] + (bias ? bias[g] : Real(0));
  }
  void scatter_add_columns(const Real* grads, const int* ids, int rows, int width, Real* weight_grad,
                           int columns) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r)
      for (std::size_t g = 0; g < std::size_t(width); ++g) weight_grad[g * columns + ids[r]] += grads[r * width + g];
  }
  void cell_forward(CellType cell, math::CellStage stage, int batch, const math::CellForward<Real>& step) const {
    cell_forward_rows(cell, stage, batch, step);
  }
  void cell_backward(CellType cell, math::CellStage stage, int batch, const math::CellBackward<Real>& step) const {
    cell_backward_rows(cell, stage, batch, step);
  }
  // kernels/ops.hpp's layer_norm, layer_norm_backward and add_column_products, row by row.
  void layer_norm(const Real* x, int rows, int width, const Real* gain, const Real* bias, Real* y, Real* normalized,
                  Real* inv_std) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r) {
      const Real* in = x + r * width;
      Real mean = 0, variance = 0;
      for (int c = 0; c < width; ++c) mean += in[c];
      mean /= width;
      for (int c = 0; c < width; ++c) variance += (in[c] - mean) * (in[c] - mean);
      const Real scale = Real(1) / std::sqrt(variance / width + math::layer_norm_epsilon<Real>);
      if (inv_std) inv_std[r] = scale;
      for (int c = 0; c < width; ++c) {
        const Real value = (in[c] - mean) * scale;
        if (normalized) normalized[r * width + c] = value;
        y[r * width + c] = value * gain[c] + (bias ? bias[c] : Real(0));
      }
    }
  }
  void layer_norm_backward(const Real* dy, const Real* normalized, const Real* inv_std, const Real* gain, int rows,
                           int width, Real* dx, bool accumulate) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r) {
      const Real *d = dy + r * width, *n = normalized + r * width;
      Real mean = 0, mean_times_normalized = 0;
      for (int c = 0; c < width; ++c) mean += d[c] * gain[c], mean_times_normalized += d[c] * gain[c] * n[c];
      mean /= width;
      mean_times_normalized /= width;
      for (int c = 0; c < width; ++c) {
        const Real value = inv_std[r] * (d[c] * gain[c] - mean - n[c] * mean_times_normalized);
        dx[r * width + c] = accumulate ? dx[r * width + c] + value : value;
      }
    }
  }
  void add_column_products(const Real* a, const Real* b, int rows, int cols, Real* out) const {
    for (std::size_t r = 0; r < std::size_t(rows); ++r)
      for (int c = 0; c < cols; ++c) out[c] += a[r * cols + c] * b[r * cols + c];
  }
  void dropout(const Real* in, Real* out, std::size_t n, const math::DropoutMask& mask, int layer) const {
    for (std::size_t e = 0; e < n; ++e) out[e] = in[e] * math::dropout_scale(mask, layer, e);
  }

 private:
  struct NoProducts {};  // double: OpenBLAS alone
  std::conditional_t<std::is_same_v<Real, float>, MatrixProducts, NoProducts> products_;
};

}  // namespace genrnn::cpu
