#pragma once
#include <cublas_v2.h>

#include "cuda/cuda_check.hpp"

namespace genrnn::cuda {

// Row-major C = alpha * op(A) * op(B) + beta * C through column-major cuBLAS: a row-major
// matrix is its transpose in column-major order, so C^T = op(B)^T op(A)^T is one call.
inline void gemm_row_major(cublasHandle_t handle, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                           const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  GENRNN_CUBLAS_CHECK(cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n,
                                  m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

}  // namespace genrnn::cuda
