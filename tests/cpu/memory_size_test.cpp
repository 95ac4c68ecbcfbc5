// What an allocation too large for the machine says (src/core/memory_size), and the small shared
// helpers beside it: the environment switches (core/environment.hpp), the lists of choices
// (core/text_list.hpp).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>

#include "core/environment.hpp"
#include "core/memory_size.hpp"
#include "core/text_list.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"
#include "genrnn/model.hpp"
#include "genrnn/parameters.hpp"
#include "tests/support/error_of.hpp"

namespace genrnn {
namespace {

using testing::error_of;

TEST(MemorySize, BytesReadInTheLargestUnitUnder1024) {
  EXPECT_EQ(byte_size_text(0), "0 bytes");
  EXPECT_EQ(byte_size_text(1), "1 byte");
  EXPECT_EQ(byte_size_text(1023), "1023 bytes");
  EXPECT_EQ(byte_size_text(1024), "1.0 KiB");
  EXPECT_EQ(byte_size_text(1536), "1.5 KiB");
  EXPECT_EQ(byte_size_text((uint64_t{1} << 20) - 1), "1.0 MiB");  // not "1024.0 KiB"
  EXPECT_EQ(byte_size_text(uint64_t{20} << 20), "20.0 MiB");
  EXPECT_EQ(byte_size_text(uint64_t{512} << 30), "512.0 GiB");
  EXPECT_EQ(byte_size_text(uint64_t{3} << 40), "3.0 TiB");
  EXPECT_EQ(byte_size_text(~uint64_t{0}), "16.0 EiB");
}

TEST(MemorySize, AnAllocationLargerThanTheMachineSaysHowMuchItNeeded) {
  // More than any vector can hold: refused before any allocation is tried.
  const std::string message = error_of([] { host_vector<float>(~std::size_t{0} / 2, "a test buffer"); });
  EXPECT_EQ(message.rfind("out of memory for a test buffer: 16.0 EiB needed", 0), 0u) << message;
  EXPECT_NE(message.find(" available"), std::string::npos) << message;
  EXPECT_EQ(host_vector<double>(3, "a small one"), std::vector<double>(3, 0.0));
}

// AddressSanitizer reports a failed allocation and stops, where the library would throw.
#if defined(__SANITIZE_ADDRESS__)
#define GENRNN_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GENRNN_TEST_UNDER_ASAN 1
#endif
#endif

#if !defined(GENRNN_TEST_UNDER_ASAN)
// An allocation the memory check lets through but the system refuses (here: a limit on the
// address space, in a child process) says the same as one the check refuses.
void allocate_4_gib_within_256_mib_more_address_space() {
  long pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  const rlim_t limit = static_cast<rlim_t>(pages) * ::sysconf(_SC_PAGESIZE) + (rlim_t{256} << 20);
  const rlimit address_space{limit, limit};
  ::setrlimit(RLIMIT_AS, &address_space);
  std::cerr << error_of([] { host_vector<float>(std::size_t{1} << 30, "a test buffer"); });
  std::_Exit(0);
}

TEST(MemorySize, AnAllocationTheSystemRefusesSaysHowMuchItNeeded) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(allocate_4_gib_within_256_mib_more_address_space(), ::testing::ExitedWithCode(0),
              "out of memory for a test buffer: 4\\.0 GiB needed");
}
#endif

// The largest model gen_cuda's options allow, about 512 GiB: refused at once, with its size,
// rather than attempted.
TEST(MemorySize, AnOversizedModelSaysHowMuchItNeeds) {
  Tokenizer tokenizer = Tokenizer::from_vocab(TokenizerKind::character, {"a", "b", "c"});
  const int layers = limits::max_layers, hidden = limits::max_hidden_size, embedding = limits::max_embedding_dim;
  const ModelConfig shape{CellType::lstm, layers, hidden, embedding, tokenizer.size(), TokenizerKind::character};
  const std::size_t count = parameter_count(shape);
  if (count * sizeof(float) <= available_memory_bytes()) GTEST_SKIP() << "this machine has the memory for it";
  const std::string message = error_of([&] { Model::initialize(shape, tokenizer, 1); });
  const std::string start = "out of memory for the model's " + std::to_string(count) + " parameters: 512.0 GiB needed";
  EXPECT_EQ(message.rfind(start, 0), 0u) << message;
}

TEST(Environment, ASwitchIsOnOnlyWhenSetToItsValue) {
  ::unsetenv("GENRNN_TEST_SWITCH");
  EXPECT_FALSE(env_equals("GENRNN_TEST_SWITCH", "0"));
  EXPECT_FALSE(env_equals("GENRNN_TEST_SWITCH", ""));
  ::setenv("GENRNN_TEST_SWITCH", "", 1);
  EXPECT_TRUE(env_equals("GENRNN_TEST_SWITCH", ""));
  EXPECT_FALSE(env_equals("GENRNN_TEST_SWITCH", "0"));
  ::setenv("GENRNN_TEST_SWITCH", "00", 1);
  EXPECT_FALSE(env_equals("GENRNN_TEST_SWITCH", "0"));
  ::setenv("GENRNN_TEST_SWITCH", "0", 1);
  EXPECT_TRUE(env_equals("GENRNN_TEST_SWITCH", "0"));
  ::unsetenv("GENRNN_TEST_SWITCH");
}

TEST(TextList, ChoicesReadAsASentence) {
  EXPECT_EQ(one_of({}), "");
  EXPECT_EQ(one_of({"a"}), "a");
  EXPECT_EQ(one_of({"a", "b"}), "a or b");
  EXPECT_EQ(one_of({"a", "b", "c"}), "a, b or c");
}

}  // namespace
}  // namespace genrnn
