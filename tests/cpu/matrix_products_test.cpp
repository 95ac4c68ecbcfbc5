// The float CPU engine's matrix products (oneDNN here where the build has it) against plain
// double loops, on fresh random matrices: every orientation, row strides wider than the rows,
// accumulation, one-row products (decoding), and packed weights that change.
#include "cpu/matrix_products.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cpu/network.hpp"
#include "genrnn/threads.hpp"
#include "genrnn/version.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn::cpu {
namespace {

using testing::max_relative_error;
using testing::random_uniform;

struct Matrices {
  int m, n, k, lda, ldb, ldc;
  bool trans_a, trans_b;
  std::vector<float> a, b, c;

  Matrices(bool ta, bool tb, int m_, int n_, int k_, int pad)
      : m(m_),
        n(n_),
        k(k_),
        lda((ta ? m_ : k_) + pad),
        ldb((tb ? k_ : n_) + pad),
        ldc(n_ + pad),
        trans_a(ta),
        trans_b(tb),
        a(random_uniform<float>(std::size_t(ta ? k_ : m_) * lda, -1, 1)),
        b(random_uniform<float>(std::size_t(tb ? n_ : k_) * ldb, -1, 1)),
        c(random_uniform<float>(std::size_t(m_) * ldc, -1, 1)) {}

  // C = alpha op(A) op(B) + beta C, in double, over the valid elements; the padding kept.
  std::vector<double> expected(double alpha, double beta) const {
    std::vector<double> out(c.begin(), c.end());
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double sum = 0;
        for (int p = 0; p < k; ++p)
          sum += double(trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
        out[i * ldc + j] = alpha * sum + beta * c[i * ldc + j];
      }
    return out;
  }
};

class Products : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(Products, GemmEqualsPlainLoops) {
  const auto [trans_a, trans_b] = GetParam();
  MatrixProducts products;
  for (const auto& [m, n, k, pad] : {std::tuple{1, 96, 256, 0}, std::tuple{32, 1024, 256, 0}, std::tuple{37, 19, 53, 3},
                                     std::tuple{300, 65, 7, 1}}) {
    for (const float beta : {0.0f, 1.0f}) {
      Matrices x(trans_a, trans_b, m, n, k, pad);
      const std::vector<double> want = x.expected(1, beta);
      products.gemm(trans_a, trans_b, m, n, k, 1.0f, x.a.data(), x.lda, x.b.data(), x.ldb, beta, x.c.data(), x.ldc);
      EXPECT_LT(max_relative_error(x.c, want), 1e-5) << m << "x" << n << "x" << k << " pad " << pad << " beta " << beta;
    }
  }
  // An alpha or beta oneDNN's path does not take goes to OpenBLAS, with the same meaning.
  Matrices x(trans_a, trans_b, 20, 30, 40, 2);
  const std::vector<double> want = x.expected(0.5, -2);
  products.gemm(trans_a, trans_b, 20, 30, 40, 0.5f, x.a.data(), x.lda, x.b.data(), x.ldb, -2.0f, x.c.data(), x.ldc);
  EXPECT_LT(max_relative_error(x.c, want), 1e-5);
}

TEST_P(Products, WeightGemmEqualsPlainLoopsAndFollowsChangedWeights) {
  const bool trans_w = std::get<0>(GetParam()), accumulate = std::get<1>(GetParam());
  MatrixProducts products;
  Matrices x(false, trans_w, 32, 1024, 256, 0);
  const auto run = [&](Matrices& on, int m) {
    products.weight_gemm(trans_w, m, on.n, on.k, on.a.data(), on.lda, on.b.data(), on.ldb, accumulate, on.c.data(),
                         on.ldc);
  };
  // The same weight at every step of a sequence, on new rows each time.
  for (int step = 0; step < 3; ++step) {
    x.a = random_uniform<float>(x.a.size(), -1, 1);
    const std::vector<double> want = x.expected(1, accumulate ? 1 : 0);
    run(x, x.m);
    ASSERT_LT(max_relative_error(x.c, want), 1e-5) << "step " << step;
  }
  // The weights change in place (an optimizer step): told so, the product follows.
  x.b = random_uniform<float>(x.b.size(), -1, 1);
  products.weights_changed();
  std::vector<double> want = x.expected(1, accumulate ? 1 : 0);
  run(x, x.m);
  EXPECT_LT(max_relative_error(x.c, want), 1e-5);
  // Another number of rows on the same weight (a prompt's many, then one for each token).
  Matrices one(false, trans_w, 1, 1024, 256, 0);
  one.b = x.b;
  want = one.expected(1, accumulate ? 1 : 0);
  run(one, 1);
  EXPECT_LT(max_relative_error(one.c, want), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Orientations, Products, ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(Products, ManyShapesStayRight) {
  // More shapes than the cache keeps: every product is still right after it empties.
  MatrixProducts products;
  // From 15 rows on these are past the products OpenBLAS takes (under 2^16 multiply-adds).
  for (int m = 1; m <= 90; ++m) {
    Matrices x(false, true, m, 96, 48, 0);
    std::vector<double> want = x.expected(1, 0);
    products.weight_gemm(true, m, 96, 48, x.a.data(), x.lda, x.b.data(), x.ldb, false, x.c.data(), x.ldc);
    products.gemm(false, true, m, 96, 48, 1.0f, x.a.data(), x.lda, x.b.data(), x.ldb, 1.0f, x.c.data(), x.ldc);
    for (std::size_t e = 0; e < want.size(); ++e) want[e] *= 2;  // the second call added the product again
    ASSERT_LT(max_relative_error(x.c, want), 1e-5) << "m " << m;
  }
}

TEST(Products, StayRightAcrossThreadSettings) {
  // A product made for two threads and then run after set_cpu_threads(1), and back.
  const int before = cpu_threads();
  MatrixProducts products;
  for (const int threads : {2, 1, 2}) {
    set_cpu_threads(threads);
    Matrices x(false, true, 32, 1024, 256, 0);
    const std::vector<double> want = x.expected(1, 0);
    products.weight_gemm(true, 32, 1024, 256, x.a.data(), x.lda, x.b.data(), x.ldb, false, x.c.data(), x.ldc);
    EXPECT_LT(max_relative_error(x.c, want), 1e-5) << threads << " threads";
  }
  set_cpu_threads(before);
}

TEST(Products, SetOneDnnsThreadsToTheCpuThreadsOnEveryThread) {
  if (std::string(matrix_products_build()) != "onednn") GTEST_SKIP() << "the products are OpenBLAS's here";
  // OpenMP's setting, as oneDNN reads it: per thread, and PyTorch in the same process changes it.
  void* scope = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(scope, nullptr) << "libdnnl brings libgomp";
  const auto omp_threads = reinterpret_cast<int (*)()>(dlsym(scope, "omp_get_max_threads"));
  const auto set_omp_threads = reinterpret_cast<void (*)(int)>(dlsym(scope, "omp_set_num_threads"));
  ASSERT_TRUE(omp_threads && set_omp_threads);
  const int before = cpu_threads();
  set_cpu_threads(1);
  const auto product = [] {
    MatrixProducts products;
    Matrices x(false, true, 32, 1024, 256, 0);
    products.weight_gemm(true, 32, 1024, 256, x.a.data(), x.lda, x.b.data(), x.ldb, false, x.c.data(), x.ldc);
  };
  product();
  set_omp_threads(3);  // as torch.set_num_threads(3) would, between two products
  product();
  EXPECT_EQ(omp_threads(), 1);
  int on_new_thread = 0;
  std::thread([&] {
    product();
    on_new_thread = omp_threads();
  }).join();
  EXPECT_EQ(on_new_thread, 1);
  set_cpu_threads(before);
}

TEST(Products, TheNetworkFollowsWeightsChangedInPlace) {
  // The packed weights of one forward must not outlive an optimizer step's writes.
  ModelConfig config;
  config.num_layers = 2, config.hidden_size = 48, config.embedding_dim = 16, config.vocab_size = 30;
  CpuNetwork<float> network(config), fresh(config);
  network.parameters() = random_uniform<float>(network.parameters().size(), -0.3f, 0.3f);
  const std::vector<int> ids = testing::random_ids(4 * 5, config.vocab_size);
  std::vector<float> logits(4 * 30), want(4 * 30);
  network.set_state({4, {}, {}});
  network.forward(ids.data(), 4, 5, {}, true);
  for (float& w : network.parameters()) w *= -1.5f;
  fresh.parameters() = network.parameters();
  network.set_state({4, {}, {}});
  fresh.set_state({4, {}, {}});
  network.forward(ids.data(), 4, 5, {}, true);
  network.last_logits(logits.data());
  fresh.forward(ids.data(), 4, 5, {}, true);
  fresh.last_logits(want.data());
  EXPECT_LT(max_relative_error(logits, want), 1e-6);
}

TEST(Products, TheLibraryAskedForRuns) {
  const char* asked = std::getenv("GENRNN_CPU_GEMM");
  const std::string expected =
      (asked && std::string(asked) == "openblas") || !GENRNN_WITH_ONEDNN ? "openblas" : "onednn";
  EXPECT_EQ(matrix_products_build(), expected);
  EXPECT_EQ(build_info().cpu_products, expected);
}

}  // namespace
}  // namespace genrnn::cpu
