#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "genrnn/error.hpp"

namespace genrnn {
namespace {

// errno can be 0 when a stream fails for a reason the C library did not record.
std::string last_system_error() { return errno != 0 ? std::strerror(errno) : "input/output error"; }

[[noreturn]] void fail(const std::string& path, const std::string& step) {
  throw Error("cannot write " + path + ": " + step + ": " + last_system_error());
}

// Data still in the page cache could be lost after the rename has been published.
void flush_to_disk(const std::string& path, const std::string& temp_path) {
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot reopen " + temp_path);
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  errno = sync_errno;
  if (!synced) fail(path, "cannot flush " + temp_path + " to disk");
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string temp_path = path + ".tmp." + std::to_string(::getpid());
  try {
    errno = 0;
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot create " + temp_path);
    write(out);
    out.close();
    if (!out) fail(path, "writing " + temp_path + " failed");
    flush_to_disk(path, temp_path);
    if (std::rename(temp_path.c_str(), path.c_str()) != 0)
      fail(path, "cannot rename " + temp_path + " into place");
  } catch (...) {
    std::remove(temp_path.c_str());
    throw;
  }
}

}  // namespace genrnn
