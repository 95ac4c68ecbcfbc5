// Linked into every test program: before each test, the shared random engine is reseeded and
// the seed printed, so that any failure can be rerun with exactly its inputs (and, on the host
// SIMT executor, with exactly its thread schedule):
//   GENRNN_TEST_SEED=<seed> ctest -R <test>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "tests/support/numeric.hpp"
#if GENRNN_SIMT
#include "tests/simt/executor.hpp"
#endif

namespace genrnn::testing {
namespace {

uint64_t seed_for_next_test() {
  if (const char* fixed = std::getenv("GENRNN_TEST_SEED")) return std::stoull(fixed);
  std::random_device device;
  return uint64_t{device()} << 32 | device();
}

class SeedEachTest : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    const uint64_t seed = seed_for_next_test();
    random_engine().seed(seed);
#if GENRNN_SIMT
    simt::reseed(seed);
#endif
    std::printf("[   SEED   ] GENRNN_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  }
};

const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new SeedEachTest);
  return true;
}();

}  // namespace
}  // namespace genrnn::testing
