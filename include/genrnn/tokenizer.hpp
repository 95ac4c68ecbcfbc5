#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "genrnn/config.hpp"

namespace genrnn {

// What encode() does with text that is not in the vocabulary.
enum class UnknownPolicy {
  error,  // throw Error naming the token and its byte offset
  skip,   // drop it
  unk,    // map it to "<unk>" (word level; an error where the vocabulary has no "<unk>")
};
UnknownPolicy parse_unknown_policy(const std::string& name);  // "error" | "skip" | "unk"

// Char level: one token per Unicode code point. Word level: runs of letters and digits
// (with inner apostrophes), single punctuation marks and newlines; other whitespace separates.
class Tokenizer {
 public:
  static constexpr const char* unknown_token = "<unk>";

  // Builds the vocabulary from training text. Char: every code point in it, sorted.
  // Word: "<unk>" (id 0) and the max_vocab - 1 most frequent tokens (ties by token text).
  static Tokenizer build(TokenizerKind kind, const std::string& text, int max_vocab);
  // Restores a saved vocabulary (validated: non-empty, no duplicates, char tokens one code point).
  static Tokenizer from_vocab(TokenizerKind kind, std::vector<std::string> tokens);

  TokenizerKind kind() const { return kind_; }
  int size() const { return static_cast<int>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }

  // Throws Error on invalid UTF-8, naming the byte offset.
  std::vector<int> encode(const std::string& text, UnknownPolicy policy) const;
  // encode() of a piece of a longer text, appended to `ids`: the piece starts at byte `offset`
  // of that text (errors name the text's offsets) and ends where a token does (see
  // src/core/token_counts.hpp: piece_end), so that the pieces' ids are the whole text's.
  void encode_piece(const std::string& piece, uint64_t offset, UnknownPolicy policy, std::vector<int>& ids) const;
  std::string decode(const std::vector<int>& ids) const;
  // The text to append for `id` after `previous_id` (-1 at the start of a text): the token,
  // with a separating space where word-level text needs one.
  std::string piece(int previous_id, int id) const;
  // How piece() joins tokens: with a space between two tokens where the earlier one is
  // spaced_after and the later one spaced_before (word tokens, but after an opening mark or a
  // newline and before a closing mark or a newline); never between characters.
  bool spaced_after(int id) const;
  bool spaced_before(int id) const;

 private:
  Tokenizer(TokenizerKind kind, std::vector<std::string> tokens);

  TokenizerKind kind_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace genrnn
