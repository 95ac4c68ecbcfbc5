#pragma once
// The float CPU engine's matrix products, through oneDNN where the build found it, else (or with
// GENRNN_CPU_GEMM=openblas) OpenBLAS's GEMMs: the reference the faster path is tested against.
//
// Why oneDNN: most of the engine's products are by a weight matrix that stays the same over many
// of them (a layer's W_hh at every step of a sequence, every weight at every token of a decode).
// OpenBLAS copies all of it into its packed layout in every call, which at the per-step shapes
// (char256: 32 x 1024 x 256) halves its speed; here it is packed once, until weights_changed().
// The other products go through oneDNN too, so that one thread pool (oneDNN's OpenMP) does the
// work: OpenBLAS's threads, still spinning from one call, would take the cores from the next.
// Only products too small to pay for a oneDNN call stay OpenBLAS's, on the calling thread.
#include <memory>

namespace genrnn::cpu {

class MatrixProducts {
 public:
  MatrixProducts();
  ~MatrixProducts();
  MatrixProducts(MatrixProducts&&) noexcept;
  MatrixProducts& operator=(MatrixProducts&&) noexcept;

  // Row-major C = alpha * op(A) * op(B) + beta * C, where op(A) is m x k and op(B) is k x n.
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc);
  // C[m][n] = A[m][k] op(W) + (accumulate ? C : 0), where op(W) is W^T for `trans_w` (W is
  // [n][k]) and W otherwise ([k][n]). W must be unchanged since the last weights_changed().
  void weight_gemm(bool trans_w, int m, int n, int k, const float* a, int lda, const float* w, int ldw, bool accumulate,
                   float* c, int ldc);
  // Every packed weight is stale: each is packed again at its next use.
  void weights_changed();

 private:
  struct OneDnn;
  std::unique_ptr<OneDnn> onednn_;  // null: OpenBLAS
};

// What the products run on here: "onednn" or "openblas".
const char* matrix_products_build();

}  // namespace genrnn::cpu
