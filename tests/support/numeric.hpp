#pragma once
// Helpers the numeric tests share: fresh random inputs and a NaN-aware relative error.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace genrnn::testing {

// Where every test's random inputs come from. tests/support/test_seed.cpp reseeds it before
// each test, from GENRNN_TEST_SEED when that is set and afresh otherwise, and prints the seed:
// each run sees new inputs, and a failure reruns with the seed it printed.
inline std::mt19937_64& random_engine() {
  static std::mt19937_64 engine;
  return engine;
}

template <class T>
std::vector<T> random_uniform(std::size_t n, T lo, T hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> values(n);
  for (auto& v : values) v = static_cast<T>(dist(random_engine()));
  return values;
}

inline std::vector<int> random_ids(std::size_t n, int vocab) {
  std::uniform_int_distribution<int> dist(0, vocab - 1);
  std::vector<int> ids(n);
  for (auto& id : ids) id = dist(random_engine());
  return ids;
}

// max |a - b| / max(max |b|, floor); infinity when a NaN appears or the sizes differ.
template <class A, class B>
double max_relative_error(const std::vector<A>& actual, const std::vector<B>& expected, double floor = 1e-6) {
  if (actual.size() != expected.size()) return std::numeric_limits<double>::infinity();
  double diff = 0, scale = floor;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], b = expected[i];
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, std::abs(a - b));
    scale = std::max(scale, std::abs(b));
  }
  return diff / scale;
}

}  // namespace genrnn::testing
