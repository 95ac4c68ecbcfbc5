#include "genrnn/tokenizer.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>

#include "core/token_counts.hpp"
#include "core/utf8.hpp"
#include "genrnn/error.hpp"

namespace genrnn {
namespace {

constexpr std::string_view ascii_punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

bool is_ascii_punctuation(char32_t c) {
  return c < 0x80 && ascii_punctuation.find(static_cast<char>(c)) != std::string_view::npos;
}

// Unicode's White_Space property, so no-break and ideographic spaces separate words too.
bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Letters, digits, ideographs, emoji, non-ASCII punctuation: anything a word may hold.
bool is_word_character(char32_t c) { return !is_whitespace(c) && !is_ascii_punctuation(c); }

// Validates text as UTF-8 and calls visit(token, byte offset) for each token, in order; `text`
// starts at byte `base` of the text that offsets (the visitor's and errors') count in.
template <typename Visit>
void for_each_token(TokenizerKind kind, const std::string& text, uint64_t base, Visit visit) {
  const std::vector<std::size_t> offsets = utf8_offsets(text, base);
  const std::size_t count = offsets.size() - 1;
  // The token made of code points [first, end).
  const auto visit_span = [&](std::size_t first, std::size_t end) {
    visit(std::string_view(text).substr(offsets[first], offsets[end] - offsets[first]), base + offsets[first]);
  };
  if (kind == TokenizerKind::character) {
    for (std::size_t i = 0; i < count; ++i) visit_span(i, i + 1);
    return;
  }
  const std::vector<char32_t> code_points = decode_utf8(text);
  const auto inside_word = [&](std::size_t i) {
    if (is_word_character(code_points[i])) return true;
    // An apostrophe between two word characters belongs to the word: "don't", "rock'n'roll".
    return code_points[i] == U'\'' && i + 1 < count && is_word_character(code_points[i + 1]);
  };
  for (std::size_t i = 0; i < count;) {
    const char32_t c = code_points[i];
    if (is_word_character(c)) {
      std::size_t end = i + 1;
      while (end < count && inside_word(end)) ++end;
      visit_span(i, end);
      i = end;
      continue;
    }
    // Each newline is a token of its own so that line structure survives.
    if (c == U'\n' || is_ascii_punctuation(c)) visit_span(i, i + 1);
    ++i;
  }
}

void check_max_vocab(TokenizerKind kind, int max_vocab) {
  if (kind == TokenizerKind::word && max_vocab < 2)
    throw Error("the word vocabulary size must be at least 2 (<unk> and one word), not " + std::to_string(max_vocab));
}

// A token as messages show it: quoted, control characters escaped, and the code point where
// the token is a single one. `token` must be valid UTF-8.
std::string describe(const std::string& token) {
  std::string shown = "\"";
  for (char c : token) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      shown += "\\n";
    } else if (c == '"' || c == '\\') {
      shown += {'\\', c};
    } else if (byte < 0x20 || byte == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      shown += escaped;
    } else {
      shown += c;
    }
  }
  shown += '"';
  const std::vector<char32_t> code_points = decode_utf8(token);
  if (code_points.size() == 1) {
    char hex[16];
    std::snprintf(hex, sizeof hex, " (U+%04X)", static_cast<unsigned>(code_points[0]));
    shown += hex;
  }
  return shown;
}

void check_id(int id, int vocab_size) {
  if (id < 0 || id >= vocab_size)
    throw Error("token id " + std::to_string(id) + " is out of range for a vocabulary of " +
                std::to_string(vocab_size) + " tokens");
}

bool is_one_of(const std::string& token, std::string_view marks) {
  return token.size() == 1 && marks.find(token[0]) != std::string_view::npos;
}

}  // namespace

UnknownPolicy parse_unknown_policy(const std::string& name) {
  if (name == "error") return UnknownPolicy::error;
  if (name == "skip") return UnknownPolicy::skip;
  if (name == "unk") return UnknownPolicy::unk;
  throw Error("unknown policy '" + name + "' for unknown tokens (expected error, skip or unk)");
}

Tokenizer::Tokenizer(TokenizerKind kind, std::vector<std::string> tokens) : kind_(kind), tokens_(std::move(tokens)) {
  ids_.reserve(tokens_.size());
  for (int id = 0; id < size(); ++id) {
    const auto [first, inserted] = ids_.emplace(tokens_[id], id);
    if (!inserted)
      throw Error("the vocabulary has token " + describe(tokens_[id]) + " twice (ids " + std::to_string(first->second) +
                  " and " + std::to_string(id) + ")");
  }
}

Tokenizer Tokenizer::build(TokenizerKind kind, const std::string& text, int max_vocab) {
  TokenCounts counts(kind, max_vocab);
  counts.add(text, 0);
  return counts.vocabulary();
}

TokenCounts::TokenCounts(TokenizerKind kind, int max_vocab) : kind_(kind), max_vocab_(max_vocab) {
  check_max_vocab(kind, max_vocab);
}

void TokenCounts::add(const std::string& piece, uint64_t offset) {
  for_each_token(kind_, piece, offset, [&](std::string_view token, uint64_t) {
    ++total_;
    const auto found = counts_.find(token);
    if (found != counts_.end()) {
      ++found->second;
      return;
    }
    counts_.emplace(std::string_view(texts_.emplace_back(token)), 1);
  });
}

Tokenizer TokenCounts::vocabulary() const {
  if (counts_.empty()) throw Error("cannot build a vocabulary: the text has no tokens");
  std::vector<std::pair<std::string_view, std::int64_t>> ranked(counts_.begin(), counts_.end());
  std::vector<std::string> tokens;
  if (kind_ == TokenizerKind::character) {
    // Every distinct code point, in code point order (UTF-8's byte order is code point order).
    // max_vocab does not apply: a char model must be able to read and write all of its text.
    std::sort(ranked.begin(), ranked.end());
  } else {
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    ranked.resize(std::min(ranked.size(), static_cast<std::size_t>(max_vocab_) - 1));
    tokens.push_back(Tokenizer::unknown_token);
  }
  tokens.reserve(tokens.size() + ranked.size());
  for (const auto& entry : ranked) tokens.emplace_back(entry.first);
  return Tokenizer::from_vocab(kind_, std::move(tokens));
}

std::size_t piece_end(TokenizerKind kind, std::string_view bytes) {
  if (kind == TokenizerKind::character) {
    // Before the last code point's first byte: a sequence cut there is truncated as it is in
    // the whole text (where a non-continuation byte follows it). Past three continuation
    // bytes no sequence can be cut by the end, whatever the bytes before them.
    const std::size_t lowest = bytes.size() > 4 ? bytes.size() - 4 : 0;
    for (std::size_t i = bytes.size(); i-- > lowest;) {
      if ((static_cast<unsigned char>(bytes[i]) & 0xC0) != 0x80) return i;
    }
    return bytes.size();
  }
  // After ASCII whitespace or punctuation other than the apostrophe: neither belongs to a word
  // nor lets one continue, and no UTF-8 sequence holds an ASCII byte.
  for (std::size_t i = bytes.size(); i-- > 0;) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (byte < 0x80 && byte != '\'' && (is_whitespace(byte) || is_ascii_punctuation(byte))) return i + 1;
  }
  return 0;
}

Tokenizer Tokenizer::from_vocab(TokenizerKind kind, std::vector<std::string> tokens) {
  if (tokens.empty()) throw Error("the vocabulary is empty");
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    const std::string which = "vocabulary token " + std::to_string(id);
    std::size_t length = 0;
    try {
      length = decode_utf8(tokens[id]).size();
    } catch (const Error& e) {
      throw Error(which + " is not valid UTF-8 (" + e.what() + ")");
    }
    if (length == 0) throw Error(which + " is empty");
    if (kind == TokenizerKind::character && length != 1)
      throw Error(which + " " + describe(tokens[id]) + " is not exactly one character");
  }
  return Tokenizer(kind, std::move(tokens));  // the constructor rejects duplicates
}

std::vector<int> Tokenizer::encode(const std::string& text, UnknownPolicy policy) const {
  std::vector<int> ids;
  encode_piece(text, 0, policy, ids);
  return ids;
}

void Tokenizer::encode_piece(const std::string& piece, uint64_t offset, UnknownPolicy policy,
                             std::vector<int>& ids) const {
  const auto unknown = ids_.find(unknown_token);
  const bool has_unknown = unknown != ids_.end();
  // Checked up front so that a wrong policy fails on every text, not only on unlucky ones.
  if (policy == UnknownPolicy::unk && !has_unknown)
    throw Error(std::string(kind_ == TokenizerKind::character ? "the char" : "this word") +
                " vocabulary has no <unk>; use --unknown error or skip");
  for_each_token(kind_, piece, offset, [&](std::string_view view, uint64_t at) {
    const std::string token(view);
    const auto found = ids_.find(token);
    if (found != ids_.end()) {
      ids.push_back(found->second);
    } else if (policy == UnknownPolicy::unk) {
      ids.push_back(unknown->second);
    } else if (policy == UnknownPolicy::error) {
      throw Error("token " + describe(token) + " at byte " + std::to_string(at) +
                  " is not in the vocabulary; use --unknown skip to drop it" +
                  (has_unknown ? " or --unknown unk to map it to <unk>" : ""));
    }
  });
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string text;
  int previous_id = -1;
  for (int id : ids) {
    text += piece(previous_id, id);
    previous_id = id;
  }
  return text;
}

std::string Tokenizer::piece(int previous_id, int id) const {
  check_id(id, size());
  const std::string& token = tokens_[id];
  if (previous_id == -1) return token;
  return spaced_after(previous_id) && spaced_before(id) ? " " + token : token;  // spaced_after checks previous_id
}

// Word-level text is its tokens joined by spaces, except after an opening mark or a newline
// and before a closing mark or a newline: [the, cat, ",", sat, "."] reads "the cat, sat.".
bool Tokenizer::spaced_after(int id) const {
  check_id(id, size());
  return kind_ == TokenizerKind::word && !is_one_of(tokens_[id], "\n([{");
}

bool Tokenizer::spaced_before(int id) const {
  check_id(id, size());
  return kind_ == TokenizerKind::word && !is_one_of(tokens_[id], "\n.,!?;:)]}%'");
}

}  // namespace genrnn
