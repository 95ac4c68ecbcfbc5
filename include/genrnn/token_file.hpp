#pragma once
// Token files: a corpus tokenized once (gen_cuda tokenize, genrnn.tokenize), then memory-mapped
// by training and evaluation, which read only the windows they use: memory independent of the
// corpus. The layout is in docs/ARCHITECTURE.md ("Token files").
#include <cstdint>
#include <functional>
#include <string>

#include "genrnn/config.hpp"
#include "genrnn/corpus.hpp"
#include "genrnn/tokenizer.hpp"

namespace genrnn {

// The format written and read; another version is refused with a message saying so.
constexpr uint32_t token_file_version = 1;

struct TokenFileSummary {
  TokenizerKind kind = TokenizerKind::character;
  int vocab_size = 0;
  int id_width = 0;         // bytes per id: 2 where the vocabulary has at most 65,536 tokens, else 4
  int64_t tokens = 0;       // ids in the file
  uint64_t text_bytes = 0;  // of the text read
  uint64_t file_bytes = 0;  // of the token file written
};

// Where tokenizing stands: `pass` of `passes` (a new vocabulary is counted in a first pass,
// then the ids are written in a second), `bytes` of the text's `total_bytes` read in it.
struct TokenizeProgress {
  int pass = 1;
  int passes = 1;
  uint64_t bytes = 0;
  uint64_t total_bytes = 0;
};
using TokenizeCallback = std::function<void(const TokenizeProgress&)>;

// Tokenizes the UTF-8 text file `text_path` into the token file `out_path`, reading the text in
// pieces (memory independent of the text, apart from the vocabulary and its counts), and calls
// `progress` (when given) after each piece. The vocabulary is Tokenizer::build(kind, text,
// vocab_size) of the whole text and the ids encode_corpus's, so that training on the token
// file gives the weights that training on the text gives. The file is written to a temporary
// beside `out_path` and renamed into place: on any error (invalid UTF-8, named by its byte
// offset in the text; an empty text; a failed write) `out_path` is left as it was.
TokenFileSummary tokenize_text_file(const std::string& text_path, const std::string& out_path, TokenizerKind kind,
                                    int vocab_size, const TokenizeCallback& progress = {});
// The same with a given vocabulary (a model's, to evaluate it on another text or train it
// further on one) in one pass: text outside it is handled as `unknown` says (Tokenizer::encode).
TokenFileSummary tokenize_text_file(const std::string& text_path, const std::string& out_path,
                                    const Tokenizer& vocabulary, UnknownPolicy unknown,
                                    const TokenizeCallback& progress = {});

// Whether `path` starts as a token file does (its magic); false for text files and for files
// that cannot be read (reading them as text then says why).
bool is_token_file(const std::string& path);

// The token file's ids, memory-mapped, with its vocabulary (Corpus::tokenizer()). The header is
// checked against the file's size, the vocabulary validated, and every id read once and checked
// against the vocabulary, in a pass that gives each page back after reading it (so opening
// does not leave the file in memory). Throws Error naming the file: not a token file, another
// version, truncated or too long, inconsistent fields, an id past the vocabulary.
Corpus open_token_file(const std::string& path);

// Throws Error naming the token file unless `corpus`'s vocabulary (a token file's) is
// `vocabulary`, of the same kind, token for token; `whose` names the latter ("the model's",
// "that of checkpoint 'm.safetensors'"). A corpus without a vocabulary (ids in memory) passes.
void require_vocabulary(const Corpus& corpus, const Tokenizer& vocabulary, const std::string& whose);

}  // namespace genrnn
