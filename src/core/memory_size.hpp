#pragma once
// Memory sizes for people, and host allocations that say how much they needed when the machine
// does not have it: an oversized model fails at once, with its size, rather than with a bare
// "out of memory" (std::bad_alloc) or by running the machine out of memory page by page.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace genrnn {

// "512 bytes", "1.5 KiB", "20.0 MiB", "512.0 GiB", "2.0 TiB".
std::string byte_size_text(uint64_t bytes);

// Throws an Error: "out of memory for <what>: <bytes> needed, <available> available" (the memory
// this machine can still give, where it can be read).
[[noreturn]] void throw_out_of_memory(const std::string& what, uint64_t bytes);

// Throws that Error unless `bytes` fit in the memory this machine can still give
// (available_memory_bytes()).
void require_host_memory(uint64_t bytes, const std::string& what);

// `count` zeros, or that Error, before or instead of std::bad_alloc.
template <class T>
std::vector<T> host_vector(std::size_t count, const std::string& what) {
  constexpr uint64_t most = std::numeric_limits<uint64_t>::max();
  const uint64_t bytes = count > most / sizeof(T) ? most : uint64_t{count} * sizeof(T);
  require_host_memory(bytes, what);
  try {
    return std::vector<T>(count, T(0));
  } catch (const std::bad_alloc&) {  // over the address space's limit, or too large for a vector
    throw_out_of_memory(what, bytes);
  } catch (const std::length_error&) {
    throw_out_of_memory(what, bytes);
  }
}

}  // namespace genrnn
