#pragma once
#include <string>

namespace genrnn {

// Whole UTF-8 text files, for gen_cuda and the Python package alike (the same messages). One that
// cannot be opened or read, a directory, an empty file, one past the limit, or invalid UTF-8
// throws Error naming it.

// A prompt: at most limits::max_prompt_bytes.
std::string read_prompt_file(const std::string& path);
// A corpus: small enough to be tokenized (and trained on) in the memory available,
// limits::corpus_memory_per_byte bytes for each of its bytes.
std::string read_corpus_file(const std::string& path);

}  // namespace genrnn
