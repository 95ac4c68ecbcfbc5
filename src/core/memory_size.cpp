#include "core/memory_size.hpp"

#include <cstdio>
#include <iterator>

#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {

std::string byte_size_text(uint64_t bytes) {
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  double size = static_cast<double>(bytes) / 1024;
  int unit = 0;
  // Up a unit where the rounded number would read 1024.0.
  while (size >= 1023.95 && unit + 1 < static_cast<int>(std::size(units))) {
    size /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", size, units[unit]);
  return text;
}

void throw_out_of_memory(const std::string& what, uint64_t bytes) {
  const uint64_t available = available_memory_bytes();
  const bool known = available != std::numeric_limits<uint64_t>::max();
  throw Error("out of memory for " + what + ": " + byte_size_text(bytes) + " needed" +
              (known ? ", " + byte_size_text(available) + " available" : std::string()));
}

void require_host_memory(uint64_t bytes, const std::string& what) {
  if (bytes > available_memory_bytes()) throw_out_of_memory(what, bytes);
}

}  // namespace genrnn
