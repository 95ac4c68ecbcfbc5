#include "cpu/matrix_products.hpp"

#include <string>

#include "core/environment.hpp"
#include "cpu/blas.hpp"

#if defined(GENRNN_WITH_ONEDNN)
#include <dlfcn.h>

#include <cstdint>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "genrnn/error.hpp"
#include "genrnn/threads.hpp"
#endif

namespace genrnn::cpu {

namespace {

bool use_onednn() {
#if defined(GENRNN_WITH_ONEDNN)
  static const bool yes = !env_equals("GENRNN_CPU_GEMM", "openblas");
  return yes;
#else
  return false;
#endif
}

}  // namespace

const char* matrix_products_build() { return use_onednn() ? "onednn" : "openblas"; }

#if defined(GENRNN_WITH_ONEDNN)

namespace {

using dnnl::memory;

// Debian's oneDNN runs on OpenMP, on as many threads as the calling thread's OpenMP setting, which
// a new thread (a Python stream's worker) does not inherit and others may change (PyTorch's
// set_num_threads, in the same process): made cpu_threads() before each product. Looked up in
// the runtime libdnnl brought rather than linked, so that this library does not bring a second
// OpenMP runtime of its own (a clang build would link libomp).
int follow_cpu_threads() {
  struct Runtime {
    int (*get)();
    void (*set)(int);
  };
  static const Runtime openmp = [] {
    void* library = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
    void* scope = library ? library : RTLD_DEFAULT;
    return Runtime{reinterpret_cast<int (*)()>(dlsym(scope, "omp_get_max_threads")),
                   reinterpret_cast<void (*)(int)>(dlsym(scope, "omp_set_num_threads"))};
  }();
  const int wanted = cpu_threads();
  if (openmp.get && openmp.set && openmp.get() != wanted) openmp.set(wanted);
  return wanted;
}

// Below this many multiply-adds a oneDNN primitive's cost per call (2 us, 3-4 us when it wakes a
// second thread) exceeds the product's own (the lesson's 64-unit decode: 1 x 256 x 64 takes
// 1.8 us in OpenBLAS): such products are OpenBLAS's sgemm, which runs them on the calling thread
// (it threads from 2^18). Not its sgemv, which threads from 9,216 elements.
constexpr double small_product = 65536;

bool is_small(int m, int n, int k) { return double(m) * n * k < small_product; }

void small_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

// A row-major rows x cols matrix, or (transposed) the transpose of a stored cols x rows one.
memory::desc matrix(bool transposed, int rows, int cols, int stride) {
  return memory::desc({rows, cols}, memory::data_type::f32,
                      transposed ? memory::dims{1, stride} : memory::dims{stride, 1});
}

// One product's shape: op(A) m x k (A stored transposed or not, lda), op(B) k x n, C (ldc); and
// the threads it runs on, which a primitive fixes when it is made.
struct Shape {
  bool trans_a, trans_b;
  int m, n, k, lda, ldb, ldc;
  bool accumulate;
  int threads;
  auto tied() const { return std::tie(trans_a, trans_b, m, n, k, lda, ldb, ldc, accumulate, threads); }
  bool operator==(const Shape& other) const { return tied() == other.tied(); }
};
struct ShapeHash {
  std::size_t operator()(const Shape& s) const {
    std::size_t h = s.trans_a + 2 * s.trans_b + 4 * s.accumulate;
    for (int v : {s.m, s.n, s.k, s.lda, s.ldb, s.ldc, s.threads}) h = h * 1000003 + static_cast<std::size_t>(v);
    return h;
  }
};

// A matmul for one shape, with B as stored, or (packed) in the layout the matmul reads best.
struct Product {
  Shape shape{};
  dnnl::matmul matmul;
  memory a, b, c;
  std::unordered_map<int, memory> args;  // a, b and c, made once: a call then allocates nothing
  uint64_t packed_at = 0;                // packed products: the weights' generation B was packed at; 0: never

  Product() = default;
  Product(const dnnl::engine& engine, const Shape& s, bool packed) : shape(s) {
    dnnl::primitive_attr attr;
    if (s.accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    const memory::desc b_layout = packed ? memory::desc({s.k, s.n}, memory::data_type::f32, memory::format_tag::any)
                                         : matrix(s.trans_b, s.k, s.n, s.ldb);
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(matrix(s.trans_a, s.m, s.k, s.lda), b_layout, matrix(false, s.m, s.n, s.ldc)), attr, engine);
    matmul = dnnl::matmul(pd);
    a = memory(pd.src_desc(), engine, DNNL_MEMORY_NONE);
    b = packed ? memory(pd.weights_desc(), engine) : memory(pd.weights_desc(), engine, DNNL_MEMORY_NONE);
    c = memory(pd.dst_desc(), engine, DNNL_MEMORY_NONE);
    args = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};  // handles to the same memory
  }

  void run(dnnl::stream& stream, const float* a_data, const float* b_data, float* c_data) {
    a.set_data_handle(const_cast<float*>(a_data));
    if (b_data) b.set_data_handle(const_cast<float*>(b_data));
    c.set_data_handle(c_data);
    matmul.execute(stream, args);
    stream.wait();
  }
};

// A bound on the cached products, in case shapes keep changing (prompts of every length).
constexpr std::size_t max_cached = 64;

}  // namespace

struct MatrixProducts::OneDnn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  uint64_t generation = 1;
  std::unordered_map<Shape, Product, ShapeHash> plain;
  // Per weight and orientation, the product of the last shape it was used at.
  std::unordered_map<const float*, Product> packed[2];

  Product& plain_product(const Shape& shape) {
    if (plain.size() >= max_cached) plain.clear();
    auto found = plain.find(shape);
    if (found == plain.end()) found = plain.emplace(shape, Product(engine, shape, false)).first;
    return found->second;
  }

  Product& packed_product(const float* w, const Shape& shape) {
    auto& of_orientation = packed[shape.trans_b];
    if (of_orientation.size() >= max_cached) of_orientation.clear();
    Product& product = of_orientation[w];
    if (!(product.shape == shape) || !product.matmul) product = Product(engine, shape, true);
    if (product.packed_at != generation) {
      memory stored(matrix(shape.trans_b, shape.k, shape.n, shape.ldb), engine, const_cast<float*>(w));
      dnnl::reorder(stored, product.b).execute(stream, stored, product.b);
      product.packed_at = generation;
    }
    return product;
  }

  // C = op(A) op(B) (+ C) on oneDNN, B packed when it is the weight `packed_w`; products too
  // small for a oneDNN call on OpenBLAS's sgemm.
  void multiply(const Shape& shape, const float* a, const float* b, const float* packed_w, float* c) {
    if (is_small(shape.m, shape.n, shape.k))
      return small_gemm(shape.trans_a, shape.trans_b, shape.m, shape.n, shape.k, 1.0f, a, shape.lda,
                        packed_w ? packed_w : b, shape.ldb, shape.accumulate ? 1.0f : 0.0f, c, shape.ldc);
    Shape threaded = shape;
    threaded.threads = follow_cpu_threads();
    try {
      if (packed_w)
        packed_product(packed_w, threaded).run(stream, a, nullptr, c);
      else
        plain_product(threaded).run(stream, a, b, c);
    } catch (const dnnl::error& e) {
      throw Error(std::string("oneDNN matmul failed: ") + e.what());
    }
  }
};

#else  // no oneDNN in this build: every product is OpenBLAS's

struct MatrixProducts::OneDnn {};

#endif

MatrixProducts::MatrixProducts() {
#if defined(GENRNN_WITH_ONEDNN)
  if (use_onednn()) onednn_ = std::make_unique<OneDnn>();
#endif
}

void MatrixProducts::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                          const float* b, int ldb, float beta, float* c, int ldc) {
#if defined(GENRNN_WITH_ONEDNN)
  if (onednn_ && alpha == 1.0f && (beta == 0.0f || beta == 1.0f))
    return onednn_->multiply({trans_a, trans_b, m, n, k, lda, ldb, ldc, beta != 0.0f, 0}, a, b, nullptr, c);
#endif
  cpu::gemm<float>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void MatrixProducts::weight_gemm(bool trans_w, int m, int n, int k, const float* a, int lda, const float* w, int ldw,
                                 bool accumulate, float* c, int ldc) {
#if defined(GENRNN_WITH_ONEDNN)
  if (onednn_) return onednn_->multiply({false, trans_w, m, n, k, lda, ldw, ldc, accumulate, 0}, a, nullptr, w, c);
#endif
  cpu::gemm<float>(false, trans_w, m, n, k, 1.0f, a, lda, w, ldw, accumulate ? 1.0f : 0.0f, c, ldc);
}

void MatrixProducts::weights_changed() {
#if defined(GENRNN_WITH_ONEDNN)
  if (onednn_) ++onednn_->generation;
#endif
}

MatrixProducts::~MatrixProducts() = default;
MatrixProducts::MatrixProducts(MatrixProducts&&) noexcept = default;
MatrixProducts& MatrixProducts::operator=(MatrixProducts&&) noexcept = default;

}  // namespace genrnn::cpu
