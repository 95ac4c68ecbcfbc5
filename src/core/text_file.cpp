#include "genrnn/text_file.hpp"

#include "core/memory_size.hpp"
#include "core/utf8.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace genrnn {
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

std::string describe(const std::string& path, const std::string& what) { return what + " '" + path + "'"; }

// The whole file, as bytes; `what` names it in errors ("data file"). One that cannot be opened
// or read, a directory, an empty file, or one past max_bytes ("<what> is larger than <limit>:
// <why>") throws Error.
std::string read_text_file(const std::string& path, const std::string& what, uint64_t max_bytes,
                           const std::string& why) {
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    throw Error("cannot open " + describe(path, what) + ": " + std::strerror(errno));
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) {
    throw Error("cannot read " + describe(path, what) + ": " + std::strerror(errno));
  }
  if (S_ISDIR(status.st_mode)) {
    throw Error("cannot read " + describe(path, what) + ": " + std::strerror(EISDIR));
  }
  const auto too_large = [&] {
    return Error(describe(path, what) + " is larger than " + byte_size_text(max_bytes) + ": " + why);
  };
  if (static_cast<uint64_t>(status.st_size) > max_bytes) throw too_large();
  // Read to the end rather than trusting st_size: pipes and /proc files report 0.
  std::string text;
  text.reserve(static_cast<std::size_t>(status.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t count = ::read(file.get(), buffer, sizeof buffer);
    if (count == 0) break;
    if (count < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot read " + describe(path, what) + ": " + std::strerror(errno));
    }
    text.append(buffer, static_cast<std::size_t>(count));
    if (text.size() > max_bytes) throw too_large();
  }
  if (text.empty()) throw Error(describe(path, what) + " is empty");
  try {
    check_utf8(text);  // a text file, so that every caller gets strings it can hand on (Python's str)
  } catch (const Error& error) {
    throw Error(describe(path, what) + ": " + error.what());
  }
  return text;
}

}  // namespace

std::string read_prompt_file(const std::string& path) {
  return read_text_file(path, "prompt file", limits::max_prompt_bytes, "the limit for a prompt");
}

std::string read_corpus_file(const std::string& path) {
  const uint64_t available = available_memory_bytes();
  return read_text_file(path, "data file", available / limits::corpus_memory_per_byte,
                        "tokenizing it needs about " + std::to_string(limits::corpus_memory_per_byte) +
                            " bytes of memory per byte of text, and " + byte_size_text(available) + " are available");
}

}  // namespace genrnn
