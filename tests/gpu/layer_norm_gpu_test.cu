// The layer norm's launchers (kernels/layer_norm.cu), the column products beside the column sums
// (kernels/rows.cu) and gather_columns without a bias, against plain double-precision references
// on fresh random inputs.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "genrnn/error.hpp"
#include "kernels/layer_norm_math.cuh"
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

// float32 in the kernels (sums of up to width / 256 terms per thread, then a tree), double in
// the references.
constexpr double kTolerance = 1e-5;
constexpr cudaStream_t kStream = nullptr;  // the legacy default stream, which cudaMemcpy waits for

struct Shape {
  int rows, width;
};
// Widths of one column (variance 0), under a warp, just past a 256-thread block, several turns
// of it and past 4 * 1024, none a multiple of 32; rows from 1 to past two warps' worth.
const std::vector<Shape> kShapes = {{1, 1}, {5, 7}, {65, 257}, {17, 1030}, {3, 4099}};

std::string describe(const Shape& shape) { return std::to_string(shape.rows) + " x " + std::to_string(shape.width); }

// The forward in double from the float inputs; bias empty for none.
struct Forward {
  std::vector<double> y, normalized, inv_std;
};
Forward layer_norm_reference(const std::vector<float>& x, const Shape& shape, const std::vector<float>& gain,
                             const std::vector<float>& bias) {
  const int width = shape.width;
  Forward out{std::vector<double>(x.size()), std::vector<double>(x.size()), std::vector<double>(shape.rows)};
  for (int r = 0; r < shape.rows; ++r) {
    const float* row = x.data() + std::size_t(r) * width;
    double mean = 0, variance = 0;
    for (int c = 0; c < width; ++c) mean += row[c];
    mean /= width;
    for (int c = 0; c < width; ++c) variance += (row[c] - mean) * (row[c] - mean);
    variance /= width;
    out.inv_std[r] = 1 / std::sqrt(variance + math::layer_norm_epsilon<double>);
    for (int c = 0; c < width; ++c) {
      const std::size_t i = std::size_t(r) * width + c;
      out.normalized[i] = (row[c] - mean) * out.inv_std[r];
      out.y[i] = out.normalized[i] * gain[c] + (bias.empty() ? 0.0 : bias[c]);
    }
  }
  return out;
}

// dx = inv_std * (g - mean(g) - x̂ * mean(g * x̂)), g = dy * gain, in double from the float inputs,
// added to `dx`.
std::vector<double> layer_norm_backward_reference(const std::vector<float>& dy, const std::vector<float>& normalized,
                                                  const std::vector<float>& inv_std, const std::vector<float>& gain,
                                                  const Shape& shape, std::vector<double> dx) {
  const int width = shape.width;
  for (int r = 0; r < shape.rows; ++r) {
    const std::size_t first = std::size_t(r) * width;
    double mean_g = 0, mean_g_x_hat = 0;
    for (int c = 0; c < width; ++c) {
      mean_g += double(dy[first + c]) * gain[c];
      mean_g_x_hat += double(dy[first + c]) * gain[c] * normalized[first + c];
    }
    mean_g /= width;
    mean_g_x_hat /= width;
    for (int c = 0; c < width; ++c)
      dx[first + c] += inv_std[r] * (double(dy[first + c]) * gain[c] - mean_g - normalized[first + c] * mean_g_x_hat);
  }
  return dx;
}

TEST(LayerNormGpu, ForwardMatchesTheReferenceWithAndWithoutBiasInPlaceAndWithoutSavedOutputs) {
  GENRNN_REQUIRE_GPU();
  for (const Shape& shape : kShapes)
    for (const bool with_bias : {true, false}) {
      SCOPED_TRACE(describe(shape) + (with_bias ? ", bias" : ", no bias"));
      const std::size_t elements = std::size_t(shape.rows) * shape.width;
      // Off 0 (mean about 0.5) and of unequal spread per column of gain.
      const auto x = random_uniform<float>(elements, -1.5f, 2.5f);
      const auto gain = random_uniform<float>(shape.width, 0.5f, 2.0f);
      const auto bias = with_bias ? random_uniform<float>(shape.width, -1.0f, 1.0f) : std::vector<float>{};
      const Forward expected = layer_norm_reference(x, shape, gain, bias);

      const DeviceArray<float> device_x(x), device_gain(gain), device_bias(bias), y(elements), normalized(elements),
          inv_std(std::size_t(shape.rows));
      // device_bias is null without a bias (an empty DeviceArray).
      kernels::layer_norm(device_x.get(), shape.rows, shape.width, device_gain.get(), device_bias.get(), y.get(),
                          normalized.get(), inv_std.get(), kStream);
      finish_launch();
      const std::vector<float> actual_y = y.download();
      EXPECT_LT(max_relative_error(actual_y, expected.y), kTolerance);
      EXPECT_LT(max_relative_error(normalized.download(), expected.normalized), kTolerance);
      EXPECT_LT(max_relative_error(inv_std.download(), expected.inv_std), kTolerance);

      // In place, storing neither x̂ nor inv_std: the same y, to the bit.
      kernels::layer_norm(device_x.get(), shape.rows, shape.width, device_gain.get(), device_bias.get(), device_x.get(),
                          nullptr, nullptr, kStream);
      finish_launch();
      EXPECT_EQ(device_x.download(), actual_y);
    }
}

TEST(LayerNormGpu, ForwardIsAccurateForRowsFarFromZero) {
  GENRNN_REQUIRE_GPU();
  // Rows around 100 of spread 1: E[x²] - mean² would cancel 14 of float's 24 bits and be off by
  // about 1e-3 relative. Two passes lose only the mean's rounding (100 * 2^-24 and the sums',
  // over a standard deviation of 0.6): within 1e-4.
  const Shape shape{9, 1030};
  const auto x = random_uniform<float>(std::size_t(shape.rows) * shape.width, 99.0f, 101.0f);
  const std::vector<float> gain(shape.width, 1.0f);
  const Forward expected = layer_norm_reference(x, shape, gain, {});
  const DeviceArray<float> device_x(x), device_gain(gain), inv_std(std::size_t(shape.rows));
  kernels::layer_norm(device_x.get(), shape.rows, shape.width, device_gain.get(), nullptr, device_x.get(), nullptr,
                      inv_std.get(), kStream);
  finish_launch();
  EXPECT_LT(max_relative_error(device_x.download(), expected.y), 1e-4);
  EXPECT_LT(max_relative_error(inv_std.download(), expected.inv_std), 1e-4);
}

TEST(LayerNormGpu, BackwardMatchesTheFormulaWrittenAddedAndInPlace) {
  GENRNN_REQUIRE_GPU();
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(describe(shape));
    const std::size_t elements = std::size_t(shape.rows) * shape.width;
    // x̂ and inv_std as forward leaves them (rows of mean 0 and mean square 1).
    const auto x = random_uniform<float>(elements, -1.5f, 2.5f);
    const auto gain = random_uniform<float>(shape.width, 0.5f, 2.0f);
    const Forward forward = layer_norm_reference(x, shape, gain, {});
    const std::vector<float> normalized(forward.normalized.begin(), forward.normalized.end()),
        inv_std(forward.inv_std.begin(), forward.inv_std.end());
    const auto dy = random_uniform<float>(elements, -1.0f, 1.0f);
    const auto old_dx = random_uniform<float>(elements, -1.0f, 1.0f);
    const std::vector<double> written =
        layer_norm_backward_reference(dy, normalized, inv_std, gain, shape, std::vector<double>(elements, 0.0));
    const std::vector<double> added = layer_norm_backward_reference(dy, normalized, inv_std, gain, shape,
                                                                    std::vector<double>(old_dx.begin(), old_dx.end()));

    const DeviceArray<float> device_dy(dy), device_normalized(normalized), device_inv_std(inv_std), device_gain(gain),
        dx(old_dx);
    const auto backward = [&](float* into, bool accumulate) {
      kernels::layer_norm_backward(device_dy.get(), device_normalized.get(), device_inv_std.get(), device_gain.get(),
                                   shape.rows, shape.width, into, accumulate, kStream);
      finish_launch();
    };
    // The gradient's scale is inv_std (316 at width 1) times |g|: relative to its largest value.
    backward(dx.get(), true);
    EXPECT_LT(max_relative_error(dx.download(), added), kTolerance) << "accumulated";
    backward(dx.get(), false);
    const std::vector<float> actual = dx.download();
    EXPECT_LT(max_relative_error(actual, written), kTolerance) << "written";
    backward(device_dy.get(), false);
    EXPECT_EQ(device_dy.download(), actual) << "in place: the same bits";
  }
}

TEST(LayerNormGpu, BackwardIsTheAdjointOfTheForwardsDerivative) {
  GENRNN_REQUIRE_GPU();
  // The kernels against each other and calculus, not a transcription of the formula: for any
  // direction v, dx · v = dy · (d y / d x) v. The derivative of the forward along v, from x alone
  // in double: with x̂ = (x - mean) s, s = 1 / sqrt(variance + eps), differentiating the mean
  // and the variance gives d x̂ = s (v - mean(v) - x̂ mean(x̂ v)), d y = gain d x̂.
  for (const Shape& shape : kShapes) {
    SCOPED_TRACE(describe(shape));
    const std::size_t elements = std::size_t(shape.rows) * shape.width;
    const auto x = random_uniform<float>(elements, -1.5f, 2.5f);
    const auto gain = random_uniform<float>(shape.width, 0.5f, 2.0f);
    const auto bias = random_uniform<float>(shape.width, -1.0f, 1.0f);
    const auto dy = random_uniform<float>(elements, -1.0f, 1.0f);
    const auto v = random_uniform<float>(elements, -1.0f, 1.0f);

    const DeviceArray<float> device_x(x), device_gain(gain), device_bias(bias), y(elements), normalized(elements),
        inv_std(std::size_t(shape.rows)), device_dy(dy), dx(elements);
    kernels::layer_norm(device_x.get(), shape.rows, shape.width, device_gain.get(), device_bias.get(), y.get(),
                        normalized.get(), inv_std.get(), kStream);
    kernels::layer_norm_backward(device_dy.get(), normalized.get(), inv_std.get(), device_gain.get(), shape.rows,
                                 shape.width, dx.get(), false, kStream);
    finish_launch();
    const std::vector<float> actual_dx = dx.download();

    const Forward forward = layer_norm_reference(x, shape, gain, bias);
    for (int r = 0; r < shape.rows; ++r) {
      const std::size_t first = std::size_t(r) * shape.width;
      double mean_v = 0, mean_x_hat_v = 0;
      for (int c = 0; c < shape.width; ++c) {
        mean_v += v[first + c];
        mean_x_hat_v += forward.normalized[first + c] * v[first + c];
      }
      mean_v /= shape.width;
      mean_x_hat_v /= shape.width;
      // Both sides, and the sum of the terms' magnitudes, which bounds float's rounding.
      double dx_v = 0, dy_dy_dv = 0, magnitude = 0;
      for (int c = 0; c < shape.width; ++c) {
        const std::size_t i = first + c;
        const double d_x_hat = forward.inv_std[r] * (v[i] - mean_v - forward.normalized[i] * mean_x_hat_v);
        dx_v += actual_dx[i] * double(v[i]);
        dy_dy_dv += dy[i] * gain[c] * d_x_hat;
        magnitude += std::abs(actual_dx[i] * double(v[i]));
      }
      EXPECT_LE(std::abs(dx_v - dy_dy_dv), kTolerance * magnitude + 1e-12) << "row " << r;
    }
  }
}

TEST(RowsGpu, AddColumnProductsAddsEveryRowsProductsTheSameWayEachRun) {
  GENRNN_REQUIRE_GPU();
  // Tall and narrow (many row chunks), short and wide, a single row, and columns that do not
  // fill the last 32-column block.
  for (const Shape shape : {Shape{testing::sized(100000, 20000), 97}, Shape{64, testing::sized(200003, 20003)},
                            Shape{1, 5}, Shape{333, 1000}}) {
    SCOPED_TRACE(describe(shape));
    const std::size_t elements = std::size_t(shape.rows) * shape.width;
    const auto a = random_uniform<float>(elements, -1.0f, 1.0f), b = random_uniform<float>(elements, -1.0f, 1.0f);
    const auto old_out = random_uniform<float>(shape.width, -1.0f, 1.0f);
    std::vector<double> expected(old_out.begin(), old_out.end());
    for (std::size_t i = 0; i < elements; ++i) expected[i % shape.width] += double(a[i]) * b[i];

    const DeviceArray<float> device_a(a), device_b(b);
    const DeviceArray<float> scratch(kernels::column_products_scratch_floats(shape.rows, shape.width));
    std::vector<std::vector<float>> runs;
    for (int run = 0; run < 2; ++run) {
      const DeviceArray<float> device_out(old_out);
      kernels::add_column_products(device_a.get(), device_b.get(), shape.rows, shape.width, device_out.get(),
                                   scratch.get(), kStream);
      finish_launch();
      runs.push_back(device_out.download());
    }
    // Sums of signed products: relative to the largest column, the sum's rounding over as many
    // rows as add_column_sums' test.
    EXPECT_LT(max_relative_error(runs[0], expected), kTolerance);
    EXPECT_EQ(runs[1], runs[0]);  // a fixed order of additions: the same bits
  }
}

TEST(OneHotGpu, GatherColumnsWithoutBiasTakesEachIdsColumnOfTheWeights) {
  GENRNN_REQUIRE_GPU();
  const int columns = 503, width = 3 * 67, rows = 300;
  const auto weight = random_uniform<float>(std::size_t(width) * columns, -1.0f, 1.0f);
  const auto ids = random_ids(rows, columns);
  std::vector<float> expected(std::size_t(rows) * width);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < width; ++g) expected[std::size_t(r) * width + g] = weight[std::size_t(g) * columns + ids[r]];

  const DeviceArray<float> device_weight(weight), out(expected.size());
  const DeviceArray<int> device_ids(ids);
  kernels::gather_columns(device_weight.get(), columns, nullptr, device_ids.get(), rows, width, out.get(), kStream);
  finish_launch();
  EXPECT_EQ(out.download(), expected);  // a copy: exact
}

// Runs everywhere: the sizes are checked on the host, and empty work launches nothing (null
// pointers are never read).
TEST(KernelLaunchers, LayerNormAndColumnProductsRejectNegativeSizesAndLaunchNothingWhenEmpty) {
  EXPECT_THROW(kernels::layer_norm(nullptr, -1, 8, nullptr, nullptr, nullptr, nullptr, nullptr, kStream), Error);
  EXPECT_THROW(kernels::layer_norm(nullptr, 2, -8, nullptr, nullptr, nullptr, nullptr, nullptr, kStream), Error);
  EXPECT_THROW(kernels::layer_norm_backward(nullptr, nullptr, nullptr, nullptr, -3, 8, nullptr, false, kStream), Error);
  EXPECT_THROW(kernels::add_column_products(nullptr, nullptr, 4, -1, nullptr, nullptr, kStream), Error);
  EXPECT_NO_THROW(kernels::layer_norm(nullptr, 0, 8, nullptr, nullptr, nullptr, nullptr, nullptr, kStream));
  EXPECT_NO_THROW(kernels::layer_norm(nullptr, 5, 0, nullptr, nullptr, nullptr, nullptr, nullptr, kStream));
  EXPECT_NO_THROW(kernels::layer_norm_backward(nullptr, nullptr, nullptr, nullptr, 0, 8, nullptr, true, kStream));
  EXPECT_NO_THROW(kernels::layer_norm_backward(nullptr, nullptr, nullptr, nullptr, 5, 0, nullptr, true, kStream));
  EXPECT_NO_THROW(kernels::add_column_products(nullptr, nullptr, 0, 3, nullptr, nullptr, kStream));
  EXPECT_EQ(kernels::column_products_scratch_floats(0, 3), 0u);
}

}  // namespace
}  // namespace genrnn
