#include "core/utf8.hpp"

#include <cstdint>
#include <cstdio>

#include "genrnn/error.hpp"

namespace genrnn {
namespace {

struct CodePoint {
  char32_t value;
  std::size_t length;  // bytes
};

[[noreturn]] void invalid(uint64_t offset, const char* why) {
  throw Error("invalid UTF-8 at byte " + std::to_string(offset) + ": " + why);
}

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }
bool is_surrogate(char32_t c) { return c >= 0xD800 && c <= 0xDFFF; }

// Decodes the sequence that starts at text[offset]. The length comes from the lead byte alone;
// the range checks afterwards catch what RFC 3629 forbids, so each error names its cause, at
// its byte in a text of which `text` starts at byte `base`.
CodePoint decode_at(const std::string& text, std::size_t offset, uint64_t base) {
  const auto fail = [&](std::size_t at, const char* why) { invalid(base + at, why); };
  const auto lead = static_cast<unsigned char>(text[offset]);
  if (lead < 0x80) return {lead, 1};
  if (is_continuation(lead)) fail(offset, "stray continuation byte");
  const std::size_t length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF8 ? 4 : 0;
  if (length == 0) fail(offset, "invalid lead byte");
  char32_t value = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if (offset + i >= text.size() || !is_continuation(text[offset + i])) fail(offset, "truncated sequence");
    value = (value << 6) | (static_cast<unsigned char>(text[offset + i]) & 0x3F);
  }
  static constexpr char32_t smallest_of_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < smallest_of_length[length]) fail(offset, "overlong encoding");
  if (is_surrogate(value)) fail(offset, "surrogate code point");
  if (value > 0x10FFFF) fail(offset, "code point past U+10FFFF");
  return {value, length};
}

// Validates the whole text, calling visit(code point, byte offset) for each code point.
template <typename Visit>
void for_each_code_point(const std::string& text, Visit visit, uint64_t base = 0) {
  for (std::size_t offset = 0; offset < text.size();) {
    const CodePoint c = decode_at(text, offset, base);
    visit(c.value, offset);
    offset += c.length;
  }
}

}  // namespace

std::vector<char32_t> decode_utf8(const std::string& text) {
  std::vector<char32_t> code_points;
  for_each_code_point(text, [&](char32_t c, std::size_t) { code_points.push_back(c); });
  return code_points;
}

void check_utf8(const std::string& text) {
  for_each_code_point(text, [](char32_t, std::size_t) {});
}

std::vector<std::size_t> utf8_offsets(const std::string& text, uint64_t base) {
  std::vector<std::size_t> offsets;
  for_each_code_point(
      text, [&](char32_t, std::size_t offset) { offsets.push_back(offset); }, base);
  offsets.push_back(text.size());
  return offsets;
}

std::string encode_utf8(char32_t code_point) {
  if (code_point > 0x10FFFF || is_surrogate(code_point)) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(code_point));
    throw Error(std::string(hex) + " is not a Unicode scalar value and has no UTF-8 form");
  }
  if (code_point < 0x80) return std::string(1, static_cast<char>(code_point));
  const std::size_t length = code_point < 0x800 ? 2 : code_point < 0x10000 ? 3 : 4;
  std::string bytes(length, '\0');
  for (std::size_t i = length - 1; i > 0; --i) {
    bytes[i] = static_cast<char>(0x80 | (code_point & 0x3F));
    code_point >>= 6;
  }
  static constexpr unsigned char lead_marker[] = {0, 0, 0xC0, 0xE0, 0xF0};
  bytes[0] = static_cast<char>(lead_marker[length] | code_point);
  return bytes;
}

}  // namespace genrnn
