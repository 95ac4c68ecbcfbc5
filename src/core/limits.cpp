#include "genrnn/limits.hpp"

#include <fstream>
#include <limits>
#include <string>

namespace genrnn {

uint64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::numeric_limits<uint64_t>::max();
}

}  // namespace genrnn
