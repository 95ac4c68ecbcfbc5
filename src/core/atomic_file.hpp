#pragma once
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace genrnn {

// Writes through `write` into a temporary file in the same folder, flushes it to disk and
// renames it over `path`, so `path` is either its old self or the complete new file. On any
// failure the temporary file is removed and Error is thrown.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Throws Error saying why (the folder is missing, is not a folder, or refuses writing; `path`
// is a folder) unless write_file_atomically could write `path` now. Creates and removes a file.
void check_writable(const std::string& path);

// The temporary file write_file_atomically writes for `path` in process `pid` of this machine:
// "<path>.tmp.<host>.<pid>", so that a folder shared between machines tells theirs apart.
std::string temporary_path(const std::string& path, long pid);

// Removes the temporary files of `path` that processes of this machine no longer running left
// behind (a run killed while it wrote); returns their names. Those of live processes and of
// other machines are left alone. Call it while this process is not writing `path`.
std::vector<std::string> remove_stale_temporaries(const std::string& path);

}  // namespace genrnn
