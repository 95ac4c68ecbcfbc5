#pragma once
#include <cblas.h>

#include <type_traits>

namespace genrnn::cpu {

// Row-major C = alpha * op(A) * op(B) + beta * C, where op(A) is m x k and op(B) is k x n.
template <class Real>
void gemm(bool trans_a, bool trans_b, int m, int n, int k, Real alpha, const Real* a, int lda, const Real* b, int ldb,
          Real beta, Real* c, int ldc) {
  if (m == 1 && !trans_a) {
    // One row (decoding a single stream): a matrix-vector product reads B in place, where
    // GEMM would first copy all of it into its packed layout.
    const auto tb = trans_b ? CblasNoTrans : CblasTrans;
    const int rows = trans_b ? n : k, cols = trans_b ? k : n;
    if constexpr (std::is_same_v<Real, float>)
      cblas_sgemv(CblasRowMajor, tb, rows, cols, alpha, b, ldb, a, 1, beta, c, 1);
    else
      cblas_dgemv(CblasRowMajor, tb, rows, cols, alpha, b, ldb, a, 1, beta, c, 1);
    return;
  }
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<Real, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace genrnn::cpu
