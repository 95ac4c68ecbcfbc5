#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace genrnn {

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). Throws Error
// naming the byte offset of the first invalid sequence.
std::vector<char32_t> decode_utf8(const std::string& text);
// The same check without keeping anything: throws as decode_utf8 does.
void check_utf8(const std::string& text);
// Byte offset of each code point returned by decode_utf8, plus text.size() at the end. `text`
// may be a piece of a longer text that starts at its byte `base`: an error names its byte there.
std::vector<std::size_t> utf8_offsets(const std::string& text, uint64_t base = 0);
std::string encode_utf8(char32_t code_point);

}  // namespace genrnn
