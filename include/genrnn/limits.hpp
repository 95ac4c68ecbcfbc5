#pragma once
// The bounds genrnn holds its inputs to, so that a hostile or mistaken file or option gets a
// clear error instead of an attempted huge allocation. The README lists them.
#include <cstddef>
#include <cstdint>

namespace genrnn::limits {

// Model shape: keeps every tensor's element count well inside 32-bit BLAS indices.
constexpr int max_layers = 64;
constexpr int max_hidden_size = 16384;
constexpr int max_embedding_dim = 16384;
constexpr int max_vocab_size = 1 << 21;  // every Unicode code point fits, with room

// A safetensors file: its JSON header (the safetensors reference reader's bound) and its
// tensor count (a genrnn checkpoint has at most 3 + 4 x max_layers).
constexpr uint64_t max_header_bytes = 100'000'000;
constexpr std::size_t max_tensors = 65'536;

// Streams decoded together (Generator, gen_cuda sample --num-samples): the id ring and the
// sampler's keys hold this many at most.
constexpr int max_streams = 4096;

// A prompt, in bytes of UTF-8 (its prefill holds activations for each token).
constexpr std::size_t max_prompt_bytes = std::size_t{1} << 20;

// Reading and tokenizing a corpus holds the text, each code point's offset and the ids (twice
// while training): about this many bytes of memory per byte of text, at most.
constexpr uint64_t corpus_memory_per_byte = 24;

}  // namespace genrnn::limits

namespace genrnn {

// The memory this machine can still give (MemAvailable in /proc/meminfo), in bytes; the
// largest uint64_t where that cannot be read.
uint64_t available_memory_bytes();

}  // namespace genrnn
