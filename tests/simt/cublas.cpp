// The host SIMT executor's cuBLAS: the handle calls genrnn makes, and SGEMM over OpenBLAS,
// queued on the handle's stream (or recorded into its capture) like any device work, with
// every operand's extent checked against its device allocation.
#include <cblas.h>
#include <cublas_v2.h>

#include <algorithm>
#include <string>

#include "executor.hpp"

struct cublasContext {
  cudaStream_t stream = nullptr;
};

using namespace genrnn::simt;

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

cublasStatus_t cublasSetWorkspace(cublasHandle_t, void* workspace, std::size_t bytes) {
  require_device_range(workspace, bytes, "cublasSetWorkspace");
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  return status == CUBLAS_STATUS_INVALID_VALUE ? "an invalid value was used as an argument"
                                               : cublasGetStatusName(status);
}

namespace {

// Bytes a column-major rows x cols matrix with leading dimension ld spans.
std::size_t extent(int rows, int cols, int ld) {
  return rows == 0 || cols == 0 ? 0 : (std::size_t(cols - 1) * ld + rows) * sizeof(float);
}

}  // namespace

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  if (transa == CUBLAS_OP_C || transb == CUBLAS_OP_C) return CUBLAS_STATUS_NOT_SUPPORTED;
  const int a_rows = transa == CUBLAS_OP_N ? m : k, a_cols = transa == CUBLAS_OP_N ? k : m;
  const int b_rows = transb == CUBLAS_OP_N ? k : n, b_cols = transb == CUBLAS_OP_N ? n : k;
  // cuBLAS's own argument checks.
  if (m < 0 || n < 0 || k < 0 || lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  // Its kernels go to the handle's stream, which must be the current device's, as any kernel's.
  int device = 0;
  cudaGetDevice(&device);
  if (stream_device(handle->stream) != device) return CUBLAS_STATUS_EXECUTION_FAILED;
  const float a = *alpha, b = *beta;  // host pointer mode: read at the call
  const cudaError_t status = enqueue(handle->stream, [=] {
    require_device_range(A, extent(a_rows, a_cols, lda), "cublasSgemm's A");
    require_device_range(B, extent(b_rows, b_cols, ldb), "cublasSgemm's B");
    require_device_range(C, extent(m, n, ldc), "cublasSgemm's C");
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasColMajor, transa == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                transb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, k, a, A, lda, B, ldb, b, C, ldc);
  });
  return status == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}
