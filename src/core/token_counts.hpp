#pragma once
// Building a vocabulary from a text read piece by piece (token files: src/core/token_file.cpp),
// with the code Tokenizer::build runs on a whole text (src/core/tokenizer.cpp): the same
// counting, the same ranking, so the same vocabulary.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "genrnn/config.hpp"
#include "genrnn/tokenizer.hpp"

namespace genrnn {

// How many tokens of each text a text holds, added piece by piece.
class TokenCounts {
 public:
  // Throws Error where `max_vocab` cannot make a vocabulary of `kind` (word level: < 2).
  TokenCounts(TokenizerKind kind, int max_vocab);

  // Counts the tokens of `piece`, which starts at byte `offset` of the whole text (errors name
  // that text's offsets) and ends where a token does (piece_end). Throws Error on invalid UTF-8.
  void add(const std::string& piece, uint64_t offset);
  // All tokens added so far, each counted once per occurrence.
  int64_t total() const { return total_; }
  // The vocabulary Tokenizer::build gives for the text added. Char: every code point, sorted.
  // Word: "<unk>" and the max_vocab - 1 most frequent tokens, ties by text. Throws Error when no
  // token was added.
  Tokenizer vocabulary() const;

 private:
  TokenizerKind kind_;
  int max_vocab_;
  std::unordered_map<std::string_view, int64_t> counts_;  // keys view texts_
  std::deque<std::string> texts_;                         // each distinct token, once; never moved
  int64_t total_ = 0;
};

// The length of the longest prefix of `bytes` (the start of the rest of a text) that can be
// tokenized apart from what follows it and give the tokens, ids, byte offsets and UTF-8
// errors that the whole text gives there: it ends between two code points (char level), or
// after ASCII whitespace or punctuation other than an apostrophe (word level: "don't" and a
// word's last letter look at the next code point). 0 where no such cut exists in `bytes`
// (a read must bring more, or the text ends there).
std::size_t piece_end(TokenizerKind kind, std::string_view bytes);

// The bytes tokenize_text_file (src/core/token_file.cpp) reads at a time, 1 MiB; tests set a few
// bytes, to cut a text into many pieces. Returns the previous size.
std::size_t set_tokenize_piece_bytes(std::size_t bytes);

}  // namespace genrnn
