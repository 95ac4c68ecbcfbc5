#include "text_file.hpp"

#include <genrnn/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gen_cuda {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string describe(const std::string& path, const std::string& what) {
  return what + " '" + path + "'";
}

}  // namespace

std::string read_text_file(const std::string& path, const std::string& what) {
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    throw genrnn::Error("cannot open " + describe(path, what) + ": " + std::strerror(errno));
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) {
    throw genrnn::Error("cannot read " + describe(path, what) + ": " + std::strerror(errno));
  }
  if (S_ISDIR(status.st_mode)) {
    throw genrnn::Error("cannot read " + describe(path, what) + ": " + std::strerror(EISDIR));
  }
  // Read to the end rather than trusting st_size: pipes and /proc files report 0.
  std::string text;
  text.reserve(static_cast<std::size_t>(status.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t count = ::read(file.get(), buffer, sizeof buffer);
    if (count == 0) break;
    if (count < 0) {
      if (errno == EINTR) continue;
      throw genrnn::Error("cannot read " + describe(path, what) + ": " + std::strerror(errno));
    }
    text.append(buffer, static_cast<std::size_t>(count));
  }
  if (text.empty()) throw genrnn::Error(describe(path, what) + " is empty");
  return text;
}

}  // namespace gen_cuda
