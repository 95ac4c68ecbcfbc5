#pragma once
#include <string>

namespace genrnn {

// Whole text files as bytes, for gen_cuda and the Python package alike (the same messages). One
// that cannot be opened or read, a directory, an empty file, or one past the limit throws Error
// naming it.

// A prompt: at most limits::max_prompt_bytes.
std::string read_prompt_file(const std::string& path);
// A corpus: small enough to be tokenized (and trained on) in the memory available,
// limits::corpus_memory_per_byte bytes for each of its bytes.
std::string read_corpus_file(const std::string& path);

}  // namespace genrnn
