// Every launcher of kernels/ops.hpp against a plain CPU reference on fresh random inputs; the
// clipping and optimizer kernels against the CPU engine's own functions.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "cpu/optimizer.hpp"
#include "genrnn/error.hpp"
#include "kernels/block_reduce.cuh"
#include "kernels/ops.hpp"
#include "tests/gpu/device_array.hpp"
#include "tests/gpu/gpu_test_support.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

using testing::DeviceArray;
using testing::finish_launch;
using testing::max_relative_error;
using testing::random_ids;
using testing::random_uniform;

// float32 on both sides; the references add in double, the kernels in float in another order.
constexpr double kTolerance = 1e-5;
// More elements than kernels/block_reduce.cuh's kMaxBlocks blocks x 256 threads: the grid-stride
// loops take more than one turn.
constexpr std::size_t kPastOneGridTurn = std::size_t(kernels::kMaxBlocks) * kernels::kThreadsPerBlock + 4099;

// Launchers queue on the legacy default stream, which cudaMemcpy waits for.
constexpr cudaStream_t kStream = nullptr;

TEST(EmbeddingGpu, GatherCopiesTheRowOfEachId) {
  GENRNN_REQUIRE_GPU();
  const int vocab = 1000, width = 130;
  const int n = static_cast<int>(kPastOneGridTurn / width + 1);
  const auto table = random_uniform<float>(std::size_t(vocab) * width, -1.0f, 1.0f);
  const auto ids = random_ids(n, vocab);
  std::vector<float> expected(std::size_t(n) * width);
  for (int r = 0; r < n; ++r)
    std::copy_n(table.begin() + std::size_t(ids[r]) * width, width, expected.begin() + std::size_t(r) * width);

  const DeviceArray<float> device_table(table), device_rows(expected.size());
  const DeviceArray<int> device_ids(ids);
  kernels::embedding_gather(device_table.get(), device_ids.get(), n, width, device_rows.get(), kStream);
  finish_launch();
  const std::vector<float> rows = device_rows.download();
  EXPECT_EQ(max_relative_error(rows, expected), 0.0);  // a copy: exact
}

TEST(EmbeddingGpu, ScatterAddAccumulatesRepeatedIds) {
  GENRNN_REQUIRE_GPU();
  // 50 ids over 6000 rows: every id repeats about 120 times, so the atomics really collide.
  const int vocab = 50, width = 67, n = 6000;
  const auto row_grads = random_uniform<float>(std::size_t(n) * width, -1.0f, 1.0f);
  const auto ids = random_ids(n, vocab);
  // The kernel adds to what the table gradient already holds.
  const auto table_grad = random_uniform<float>(std::size_t(vocab) * width, -1.0f, 1.0f);
  std::vector<double> expected(table_grad.begin(), table_grad.end());
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < width; ++c) expected[std::size_t(ids[r]) * width + c] += row_grads[std::size_t(r) * width + c];

  const DeviceArray<float> device_row_grads(row_grads), device_table_grad(table_grad);
  const DeviceArray<int> device_ids(ids);
  kernels::embedding_scatter_add(device_row_grads.get(), device_ids.get(), n, width, device_table_grad.get(), kStream);
  finish_launch();
  const std::vector<float> actual = device_table_grad.download();
  EXPECT_LT(max_relative_error(actual, expected), kTolerance);
}

TEST(OneHotGpu, GatherColumnsTakesEachIdsColumnOfTheWeightsPlusTheBias) {
  GENRNN_REQUIRE_GPU();
  // W_ih of a one-hot LSTM over a 5003-token vocabulary: width 4H, 5003 columns.
  const int columns = 5003, width = 4 * 67;
  const int rows = static_cast<int>(kPastOneGridTurn / width + 1);
  const auto weight = random_uniform<float>(std::size_t(width) * columns, -1.0f, 1.0f);
  const auto bias = random_uniform<float>(width, -1.0f, 1.0f);
  const auto ids = random_ids(rows, columns);
  std::vector<float> expected(std::size_t(rows) * width);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < width; ++g)
      expected[std::size_t(r) * width + g] = weight[std::size_t(g) * columns + ids[r]] + bias[g];  // one float add

  const DeviceArray<float> device_weight(weight), device_bias(bias), device_out(expected.size());
  const DeviceArray<int> device_ids(ids);
  kernels::gather_columns(device_weight.get(), columns, device_bias.get(), device_ids.get(), rows, width,
                          device_out.get(), kStream);
  finish_launch();
  EXPECT_EQ(max_relative_error(device_out.download(), expected), 0.0);
}

TEST(OneHotGpu, ScatterAddColumnsAccumulatesRepeatedIds) {
  GENRNN_REQUIRE_GPU();
  // 40 ids over 5000 rows: every column is hit about 125 times, so the atomics really collide.
  const int columns = 40, width = 3 * 33, rows = 5000;
  const auto grads = random_uniform<float>(std::size_t(rows) * width, -1.0f, 1.0f);
  const auto ids = random_ids(rows, columns);
  const auto weight_grad = random_uniform<float>(std::size_t(width) * columns, -1.0f, 1.0f);
  std::vector<double> expected(weight_grad.begin(), weight_grad.end());
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < width; ++g) expected[std::size_t(g) * columns + ids[r]] += grads[std::size_t(r) * width + g];

  const DeviceArray<float> device_grads(grads), device_weight_grad(weight_grad);
  const DeviceArray<int> device_ids(ids);
  kernels::scatter_add_columns(device_grads.get(), device_ids.get(), rows, width, device_weight_grad.get(), columns,
                               kStream);
  finish_launch();
  EXPECT_LT(max_relative_error(device_weight_grad.download(), expected), kTolerance);
}

TEST(RowsGpu, AddBiasRowsAddsTheBiasToEveryRow) {
  GENRNN_REQUIRE_GPU();
  const int cols = 1537;
  const int rows = static_cast<int>(kPastOneGridTurn / cols + 1);
  const auto matrix = random_uniform<float>(std::size_t(rows) * cols, -1.0f, 1.0f);
  const auto bias = random_uniform<float>(cols, -1.0f, 1.0f);
  std::vector<float> expected = matrix;
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] += bias[i % cols];  // one float add, as the kernel

  const DeviceArray<float> device_matrix(matrix), device_bias(bias);
  kernels::add_bias_rows(device_matrix.get(), device_bias.get(), rows, cols, kStream);
  finish_launch();
  const std::vector<float> actual = device_matrix.download();
  EXPECT_EQ(max_relative_error(actual, expected), 0.0);
}

TEST(RowsGpu, AddColumnSumsAddsEveryRowTheSameWayEachRun) {
  GENRNN_REQUIRE_GPU();
  struct Shape {
    int rows, cols;
  };
  // Tall and narrow (a char model's head bias over a long batch: many row chunks), short and
  // very wide (a word vocabulary), a single row, and columns that do not fill the last
  // 32-column block.
  for (const Shape shape : {Shape{testing::sized(100000, 20000), 97}, Shape{64, testing::sized(200003, 20003)},
                            Shape{1, 5}, Shape{333, 1000}}) {
    SCOPED_TRACE(std::to_string(shape.rows) + " x " + std::to_string(shape.cols));
    const auto matrix = random_uniform<float>(std::size_t(shape.rows) * shape.cols, -1.0f, 1.0f);
    const auto old_out = random_uniform<float>(shape.cols, -1.0f, 1.0f);
    std::vector<double> expected(old_out.begin(), old_out.end());
    for (int c = 0; c < shape.cols; ++c)
      for (int r = 0; r < shape.rows; ++r) expected[c] += matrix[std::size_t(r) * shape.cols + c];

    const DeviceArray<float> device_matrix(matrix);
    const DeviceArray<float> scratch(kernels::column_sums_scratch_floats(shape.rows, shape.cols));
    std::vector<std::vector<float>> runs;
    for (int run = 0; run < 2; ++run) {
      const DeviceArray<float> device_out(old_out);
      kernels::add_column_sums(device_matrix.get(), shape.rows, shape.cols, device_out.get(), scratch.get(), kStream);
      finish_launch();
      runs.push_back(device_out.download());
    }
    EXPECT_LT(max_relative_error(runs[0], expected), kTolerance);
    EXPECT_EQ(runs[1], runs[0]);  // a fixed order of additions: the same bits
  }
}

// One softmax_cross_entropy call checked against a double-precision reference: the losses, and
// the logits either replaced by the gradient or (loss only) left exactly as they were.
void check_softmax_cross_entropy(int rows, int vocab, bool with_bias, float gradient_scale, float logit_range) {
  SCOPED_TRACE("rows " + std::to_string(rows) + ", vocab " + std::to_string(vocab) +
               (with_bias ? ", bias" : ", no bias") + ", gradient scale " + std::to_string(gradient_scale) +
               ", logits within +-" + std::to_string(logit_range));
  const std::size_t elements = std::size_t(rows) * vocab;
  const auto logits = random_uniform<float>(elements, -logit_range, logit_range);
  const auto bias = random_uniform<float>(vocab, -logit_range, logit_range);
  const auto targets = random_ids(rows, vocab);

  std::vector<double> expected_losses(rows), expected_logits(logits.begin(), logits.end());
  std::vector<double> z(vocab);
  for (int r = 0; r < rows; ++r) {
    const float* row = logits.data() + std::size_t(r) * vocab;
    for (int v = 0; v < vocab; ++v) z[v] = with_bias ? row[v] + bias[v] : row[v];  // the float add, as the kernel
    const double max = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (double zv : z) sum += std::exp(zv - max);
    const double log_normalizer = max + std::log(sum);
    expected_losses[r] = log_normalizer - z[targets[r]];
    if (gradient_scale == 0.0f) continue;
    for (int v = 0; v < vocab; ++v)
      expected_logits[std::size_t(r) * vocab + v] =
          (std::exp(z[v] - log_normalizer) - (v == targets[r] ? 1.0 : 0.0)) * gradient_scale;
  }

  const DeviceArray<float> device_logits(logits), device_bias(bias), device_losses(rows);
  const DeviceArray<int> device_targets(targets);
  kernels::softmax_cross_entropy(device_logits.get(), with_bias ? device_bias.get() : nullptr, device_targets.get(),
                                 rows, vocab, gradient_scale, device_losses.get(), kStream);
  finish_launch();
  const std::vector<float> losses = device_losses.download();
  const std::vector<float> actual_logits = device_logits.download();

  // Each thread sums at most vocab / 256 (under 800) positive terms in float, so the normalizer
  // is good to about 1e-6 even for 200,000 tokens; 1e-5 holds for every size.
  EXPECT_LT(max_relative_error(losses, expected_losses), kTolerance);
  if (gradient_scale == 0.0f)
    EXPECT_EQ(max_relative_error(actual_logits, logits), 0.0) << "loss only must leave the logits untouched";
  else
    EXPECT_LT(max_relative_error(actual_logits, expected_logits), kTolerance);
  const auto finite = [](float x) { return std::isfinite(x); };
  EXPECT_TRUE(std::all_of(losses.begin(), losses.end(), finite));
  EXPECT_TRUE(std::all_of(actual_logits.begin(), actual_logits.end(), finite));
}

TEST(SoftmaxCrossEntropyGpu, MatchesReferenceForEveryVocabularySize) {
  GENRNN_REQUIRE_GPU();
  struct Shape {
    int rows, vocab;
  };
  // A binary vocabulary (one warp, 30 idle lanes), a char model's, a word model's and the
  // largest supported (781 columns per thread).
  for (const Shape shape : {Shape{3000, 2}, Shape{1000, 96}, Shape{200, testing::sized(10000, 2000)},
                            Shape{12, testing::sized(200000, 20000)}})
    for (const bool with_bias : {false, true})
      for (const float gradient_scale : {0.0f, 1.0f / shape.rows})
        check_softmax_cross_entropy(shape.rows, shape.vocab, with_bias, gradient_scale, 4.0f);
}

TEST(SoftmaxCrossEntropyGpu, HugeLogitsStayFinite) {
  GENRNN_REQUIRE_GPU();
  // exp(1e4) overflows float: only a max-shifted softmax gets through.
  for (const int vocab : {2, 96, 10000})
    for (const bool with_bias : {false, true}) check_softmax_cross_entropy(100, vocab, with_bias, 0.01f, 1e4f);
}

TEST(SumGpu, EqualsTheCpuDoubleSumAndRepeatsBitForBit) {
  GENRNN_REQUIRE_GPU();
  // Loss-like values in [1, 16): floats there are multiples of 2^-23 and 100,003 of them add up
  // below 2^21, so every partial sum fits double's 53 bits exactly, in any order: the GPU's sum
  // must equal the CPU's to the last bit.
  const auto losses = random_uniform<float>(100003, 1.0f, 16.0f);
  // Signed values of every magnitude: no longer exact in double, but within summation's error
  // bound, n * 2^-53 times the sum of magnitudes (1e-11 here) for either order.
  const auto signed_values = random_uniform<float>(100003, -1.0f, 1.0f);
  const DeviceArray<float> device_losses(losses), device_signed(signed_values);
  const DeviceArray<double> device_total(std::vector<double>{123.0});
  std::vector<double> total;

  kernels::sum(device_losses.get(), static_cast<int>(losses.size()), device_total.get(), kStream);
  finish_launch();
  total = device_total.download();
  double expected = 0;
  for (float x : losses) expected += x;
  EXPECT_EQ(total[0], expected);

  kernels::sum(device_signed.get(), static_cast<int>(signed_values.size()), device_total.get(), kStream);
  finish_launch();
  total = device_total.download();
  const double first_run = total[0];
  double expected_signed = 0, magnitude = 0;
  for (float x : signed_values) expected_signed += x, magnitude += std::abs(x);
  EXPECT_LT(std::abs(first_run - expected_signed) / magnitude, 1e-10);
  kernels::sum(device_signed.get(), static_cast<int>(signed_values.size()), device_total.get(), kStream);
  finish_launch();
  total = device_total.download();
  EXPECT_EQ(total[0], first_run) << "a fixed-order sum repeats exactly";

  kernels::sum(device_signed.get(), 0, device_total.get(), kStream);
  finish_launch();
  total = device_total.download();
  EXPECT_EQ(total[0], 0.0) << "the sum of nothing";
}

TEST(ClipGlobalNormGpu, MatchesTheCpuEngineAboveAndBelowMaxNormAndOff) {
  GENRNN_REQUIRE_GPU();
  // One block's worth, and more than one turn of the capped grid; uniform(-1, 1) gives a norm
  // of about sqrt(n / 3): 18 and 1000.
  for (const std::size_t n : {std::size_t(1000), kPastOneGridTurn * 2 + 7})
    for (const float max_norm : {5.0f, 1e5f, 0.0f}) {
      SCOPED_TRACE("n " + std::to_string(n) + ", max_norm " + std::to_string(max_norm));
      const auto gradients = random_uniform<float>(n, -1.0f, 1.0f);
      std::vector<float> expected = gradients;
      cpu::clip_gradients(expected, max_norm);
      const double expected_norm = cpu::global_norm(gradients);

      const DeviceArray<float> device_gradients(gradients), device_scratch(kernels::clip_scratch_floats(n)),
          device_norm(std::vector<float>{-1.0f});
      kernels::clip_global_norm(device_gradients.get(), n, max_norm, device_scratch.get(), device_norm.get(), kStream);
      finish_launch();
      const std::vector<float> actual = device_gradients.download();
      const std::vector<float> norm = device_norm.download();
      EXPECT_LT(std::abs(norm[0] - expected_norm) / expected_norm, kTolerance) << "norm " << norm[0];
      if (max_norm > 0 && expected_norm > max_norm) {
        EXPECT_LT(max_relative_error(actual, expected), kTolerance);
      } else {
        EXPECT_EQ(max_relative_error(actual, gradients), 0.0) << "below max_norm or off: untouched";
      }

      // Without a norm to report, max_norm 0 launches nothing; otherwise the same result.
      const DeviceArray<float> fresh_gradients(gradients);
      kernels::clip_global_norm(fresh_gradients.get(), n, max_norm, device_scratch.get(), nullptr, kStream);
      finish_launch();
      const std::vector<float> without_norm = fresh_gradients.download();
      EXPECT_EQ(max_relative_error(without_norm, actual), 0.0);
    }
}

TEST(ClipGlobalNormGpu, AnExplodingGradientIsScaledNotZeroed) {
  GENRNN_REQUIRE_GPU();
  auto gradients = random_uniform<float>(5000, -1.0f, 1.0f);
  gradients[1234] = 1e20f;  // its square overflows float, not double
  auto expected = gradients;
  cpu::clip_gradients(expected, 5.0f);
  DeviceArray<float> device_gradients(gradients);
  DeviceArray<float> scratch(kernels::clip_scratch_floats(gradients.size()));
  kernels::clip_global_norm(device_gradients.get(), gradients.size(), 5.0f, scratch.get(), nullptr, kStream);
  finish_launch();
  EXPECT_LT(max_relative_error(device_gradients.download(), expected), kTolerance);
}

TEST(SoftmaxCrossEntropyGpu, MinusInfinityLogitsAddNothing) {
  GENRNN_REQUIRE_GPU();
  // -inf in the first columns, where each thread starts its running maximum.
  std::vector<float> logits = random_uniform<float>(3 * 300, -2.0f, 2.0f);
  for (int row = 0; row < 3; ++row)
    for (int v = 0; v < 40; ++v) logits[static_cast<std::size_t>(row) * 300 + v] = -INFINITY;
  const std::vector<int> targets = {50, 299, 41};
  std::vector<double> expected(3);
  for (int row = 0; row < 3; ++row) {
    const float* z = logits.data() + static_cast<std::size_t>(row) * 300;
    double max = -INFINITY, sum = 0;
    for (int v = 0; v < 300; ++v) max = std::max<double>(max, z[v]);
    for (int v = 0; v < 300; ++v) sum += std::exp(z[v] - max);
    expected[row] = max + std::log(sum) - z[targets[row]];
  }
  DeviceArray<float> device_logits(logits), losses(std::size_t{3});
  DeviceArray<int> device_targets(targets);
  kernels::softmax_cross_entropy(device_logits.get(), nullptr, device_targets.get(), 3, 300, 0.0f, losses.get(),
                                 kStream);
  finish_launch();
  EXPECT_LT(max_relative_error(losses.download(), expected), kTolerance);
}

TEST(AdamStepGpu, ThreeStepsMatchTheCpuEngine) {
  GENRNN_REQUIRE_GPU();
  const std::size_t n = kPastOneGridTurn;
  std::vector<float> cpu_params = random_uniform<float>(n, -1.0f, 1.0f);
  TrainStepOptions options;
  options.optimizer = Optimizer::adam;
  options.learning_rate = 0.01f;
  OptimizerState cpu_state;

  const DeviceArray<float> params(cpu_params);
  // Adam's moments start at zero, as the CPU engine's.
  const DeviceArray<float> m(std::vector<float>(n, 0.0f)), v(std::vector<float>(n, 0.0f));
  for (int step = 1; step <= 3; ++step) {
    const auto step_gradients = random_uniform<float>(n, -1.0f, 1.0f);
    cpu::apply_optimizer(cpu_params, step_gradients, cpu_state, options);
    const DeviceArray<float> gradients(step_gradients);
    kernels::adam_step(params.get(), gradients.get(), m.get(), v.get(), n,
                       math::adam_hyper(options.learning_rate, step), kStream);
    finish_launch();
  }
  const std::vector<float> gpu_params = params.download(), gpu_m = m.download(), gpu_v = v.download();
  EXPECT_LT(max_relative_error(gpu_params, cpu_params), kTolerance);
  EXPECT_LT(max_relative_error(gpu_m, cpu_state.m), kTolerance);
  EXPECT_LT(max_relative_error(gpu_v, cpu_state.v), kTolerance);
}

TEST(SgdStepGpu, MatchesTheCpuEngine) {
  GENRNN_REQUIRE_GPU();
  const std::size_t n = kPastOneGridTurn;
  std::vector<float> cpu_params = random_uniform<float>(n, -1.0f, 1.0f);
  const auto step_gradients = random_uniform<float>(n, -1.0f, 1.0f);
  TrainStepOptions options;
  options.optimizer = Optimizer::sgd;
  options.learning_rate = 0.1f;
  OptimizerState cpu_state;

  const DeviceArray<float> params(cpu_params), gradients(step_gradients);
  cpu::apply_optimizer(cpu_params, step_gradients, cpu_state, options);
  kernels::sgd_step(params.get(), gradients.get(), n, options.learning_rate, kStream);
  finish_launch();
  const std::vector<float> gpu_params = params.download();
  // The GPU may fuse the multiply-subtract into one FMA: a last-bit difference.
  EXPECT_LT(max_relative_error(gpu_params, cpu_params), kTolerance);
}

// The launchers check their sizes on the host before launching anything: this runs everywhere.
TEST(KernelLaunchers, RejectBadArgumentsBeforeLaunching) {
  EXPECT_THROW(kernels::embedding_gather(nullptr, nullptr, -1, 4, nullptr, kStream), Error);
  EXPECT_THROW(kernels::embedding_scatter_add(nullptr, nullptr, 3, -4, nullptr, kStream), Error);
  EXPECT_THROW(kernels::gather_columns(nullptr, 10, nullptr, nullptr, -2, 8, nullptr, kStream), Error);
  EXPECT_THROW(kernels::scatter_add_columns(nullptr, nullptr, 3, 8, nullptr, -10, kStream), Error);
  EXPECT_THROW(kernels::add_bias_rows(nullptr, nullptr, 5, -1, kStream), Error);
  EXPECT_THROW(kernels::add_column_sums(nullptr, -5, 3, nullptr, nullptr, kStream), Error);
  EXPECT_THROW(kernels::apply_dropout(nullptr, nullptr, 10, {1.0f, 1, 1}, 0, kStream), Error);
  EXPECT_THROW(kernels::softmax_cross_entropy(nullptr, nullptr, nullptr, 4, -96, 1.0f, nullptr, kStream), Error);
  EXPECT_THROW(kernels::softmax_cross_entropy(nullptr, nullptr, nullptr, 4, 0, 1.0f, nullptr, kStream), Error);
  EXPECT_THROW(kernels::sum(nullptr, -1, nullptr, kStream), Error);
  EXPECT_THROW(kernels::clip_global_norm(nullptr, 10, std::nanf(""), nullptr, nullptr, kStream), Error);
  const math::AdamHyper step_zero{0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f};
  EXPECT_THROW(kernels::adam_step(nullptr, nullptr, nullptr, nullptr, 10, step_zero, kStream), Error);
}

}  // namespace
}  // namespace genrnn
