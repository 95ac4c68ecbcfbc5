#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "genrnn/error.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

std::string encode_all(const std::vector<char32_t>& code_points) {
  std::string text;
  for (char32_t c : code_points) text += encode_utf8(c);
  return text;
}

TEST(Utf8, DecodesAndReencodesAsciiLatinChineseAndEmoji) {
  struct Case {
    std::string text;
    std::vector<char32_t> code_points;
  };
  const std::vector<Case> cases = {
      {"", {}},
      {"Hi!\n", {U'H', U'i', U'!', U'\n'}},
      {"café naïve", {U'c', U'a', U'f', 0xE9, U' ', U'n', U'a', 0xEF, U'v', U'e'}},
      {"深度学习很有趣", {0x6DF1, 0x5EA6, 0x5B66, 0x4E60, 0x5F88, 0x6709, 0x8DA3}},
      {"😀 🎉", {0x1F600, U' ', 0x1F389}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(decode_utf8(c.text), c.code_points);
    EXPECT_EQ(encode_all(c.code_points), c.text);
  }
}

TEST(Utf8, OffsetsMarkTheStartOfEachCodePointAndTheEnd) {
  // 1-, 2-, 3- and 4-byte sequences in a row.
  EXPECT_EQ(utf8_offsets("aé深😀"), (std::vector<std::size_t>{0, 1, 3, 6, 10}));
  EXPECT_EQ(utf8_offsets(""), (std::vector<std::size_t>{0}));
}

TEST(Utf8, EncodesEachLengthBoundary) {
  const std::vector<std::pair<char32_t, std::size_t>> boundaries = {
      {0x0, 1},    {0x7F, 1},   {0x80, 2},   {0x7FF, 2},   {0x800, 3},
      {0xD7FF, 3}, {0xE000, 3}, {0xFFFF, 3}, {0x10000, 4}, {0x10FFFF, 4},
  };
  for (const auto& [code_point, length] : boundaries) {
    SCOPED_TRACE(static_cast<unsigned>(code_point));
    const std::string bytes = encode_utf8(code_point);
    EXPECT_EQ(bytes.size(), length);
    EXPECT_EQ(decode_utf8(bytes), std::vector<char32_t>{code_point});
  }
}

TEST(Utf8, EncodeRejectsSurrogatesAndCodePointsPastTheLast) {
  for (char32_t bad : {char32_t{0xD800}, char32_t{0xDFFF}, char32_t{0x110000}}) {
    EXPECT_THROW(encode_utf8(bad), Error);
  }
}

TEST(Utf8, RejectsEachKindOfInvalidSequenceNamingItsByteOffset) {
  struct Case {
    std::string bytes;
    std::size_t offset;
    std::string cause;
  };
  const std::vector<Case> cases = {
      {"ab\x80", 2, "stray continuation byte"},
      {"\xBF", 0, "stray continuation byte"},
      {"a\xC0\xAF", 1, "overlong encoding"},  // '/' in two bytes
      {"\xC1\xBF", 0, "overlong encoding"},
      {"\xE0\x80\xAF", 0, "overlong encoding"},             // '/' in three bytes
      {"xy\xF0\x82\x82\xAC", 2, "overlong encoding"},       // U+20AC in four bytes
      {"\xED\xA0\x80", 0, "surrogate code point"},          // U+D800
      {"ok\xED\xBF\xBF", 2, "surrogate code point"},        // U+DFFF
      {"\xF4\x90\x80\x80", 0, "code point past U+10FFFF"},  // U+110000
      {"\xF7\xBF\xBF\xBF", 0, "code point past U+10FFFF"},
      {"abc\xE6\xB7", 3, "truncated sequence"},  // text ends inside the sequence
      {"\xE6\xB7x", 0, "truncated sequence"},    // an ASCII byte where a continuation belongs
      {"深度\xE5", 6, "truncated sequence"},
      {"\xF0\x9F\x98", 0, "truncated sequence"},
      {"12345\xFF", 5, "invalid lead byte"},
      {"\xF8\x88\x80\x80\x80", 0, "invalid lead byte"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.bytes));
    const std::string expected = "invalid UTF-8 at byte " + std::to_string(c.offset) + ": " + c.cause;
    for (const auto& decode :
         {+[](const std::string& s) { decode_utf8(s); }, +[](const std::string& s) { utf8_offsets(s); },
          +[](const std::string& s) { check_utf8(s); }}) {
      try {
        decode(c.bytes);
        ADD_FAILURE() << "accepted invalid UTF-8";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), expected);
      }
    }
  }
}

TEST(Utf8, RandomCodePointsRoundTrip) {
  std::mt19937 rng(static_cast<unsigned>(testing::random_engine()()));  // the test's seed
  // Draw lengths evenly, so short sequences are not swamped by the many 4-byte code points.
  const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {0x0, 0x7F}, {0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFF}, {0x10000, 0x10FFFF}};
  std::uniform_int_distribution<std::size_t> pick_range(0, ranges.size() - 1);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<char32_t> code_points(rng() % 50);
    for (char32_t& c : code_points) {
      const auto [lo, hi] = ranges[pick_range(rng)];
      c = std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
    }
    const std::string text = encode_all(code_points);
    ASSERT_EQ(decode_utf8(text), code_points);
    ASSERT_EQ(utf8_offsets(text).size(), code_points.size() + 1);
  }
}

}  // namespace
}  // namespace genrnn
