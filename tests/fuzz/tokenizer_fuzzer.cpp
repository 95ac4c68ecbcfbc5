// The UTF-8 decoder and both tokenizers on arbitrary text. The first byte picks the tokenizer,
// the unknown-token policy and the word vocabulary size; the rest is the text. Properties:
// valid UTF-8 re-encodes to itself; a vocabulary built from a text encodes it (a char one
// decodes it back exactly); a vocabulary given as lines is either refused or encodes the text.
#include <cstdint>
#include <string>
#include <vector>

#include "core/utf8.hpp"
#include "genrnn/error.hpp"
#include "genrnn/tokenizer.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using namespace genrnn;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  lines.push_back(text.substr(start));
  return lines;
}

void check_encoding(const Tokenizer& tokenizer, const std::string& text, UnknownPolicy policy) {
  const std::vector<int> ids = tokenizer.encode(text, policy);
  for (int id : ids) fuzz::require(id >= 0 && id < tokenizer.size(), "encode gives ids inside the vocabulary");
  tokenizer.decode(ids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const uint8_t choice = data[0];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const TokenizerKind kind = choice & 1 ? TokenizerKind::word : TokenizerKind::character;
  const UnknownPolicy policy = (choice >> 1) % 3 == 0   ? UnknownPolicy::error
                               : (choice >> 1) % 3 == 1 ? UnknownPolicy::skip
                                                        : UnknownPolicy::unk;
  const int max_vocab = 2 + (choice >> 3);

  std::vector<char32_t> code_points;
  try {
    code_points = decode_utf8(text);
  } catch (const Error&) {
    return 0;  // every tokenizer path below validates the same way
  }
  std::string again;
  for (char32_t c : code_points) again += encode_utf8(c);
  fuzz::require(again == text, "valid UTF-8 decodes and re-encodes to itself");
  fuzz::require(utf8_offsets(text).size() == code_points.size() + 1, "one offset per code point, and the end");

  try {
    const Tokenizer built = Tokenizer::build(kind, text, max_vocab);
    const std::vector<int> ids =
        built.encode(text, kind == TokenizerKind::word ? UnknownPolicy::unk : UnknownPolicy::error);
    if (kind == TokenizerKind::character)
      fuzz::require(built.decode(ids) == text, "a char vocabulary round-trips its text");
    check_encoding(built, text, policy);
  } catch (const Error&) {
    // no tokens in the text, or --unknown unk without <unk>
  }
  try {
    check_encoding(Tokenizer::from_vocab(kind, lines_of(text)), text, policy);
  } catch (const Error&) {
    // a refused vocabulary, or a token outside it under --unknown error
  }
  return 0;
}
