#pragma once
#include <string>

namespace gen_cuda {

// Whole files as bytes. One that cannot be opened or read, a directory, an empty file, or one
// past the limit throws genrnn::Error naming it.

// A prompt: at most genrnn::limits::max_prompt_bytes.
std::string read_prompt_file(const std::string& path);
// A corpus: small enough to be tokenized (and trained on) in the memory available,
// genrnn::limits::corpus_memory_per_byte bytes for each of its bytes.
std::string read_corpus_file(const std::string& path);

}  // namespace gen_cuda
