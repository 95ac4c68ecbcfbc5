#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace genrnn {

// Writes through `write` into a temporary file in the same folder, flushes it to disk and
// renames it over `path`, so `path` is either its old self or the complete new file. On any
// failure the temporary file is removed and Error is thrown.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace genrnn
