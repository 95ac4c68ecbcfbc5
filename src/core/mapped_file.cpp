#include "core/mapped_file.hpp"

#include <algorithm>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "genrnn/error.hpp"

namespace genrnn {

MappedFile::MappedFile(const std::string& path, const std::string& what) {
  const std::string named = what + " '" + path + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + named + ": " + std::strerror(errno));
  struct stat status {};
  int error = 0;
  if (::fstat(fd, &status) != 0) {
    error = errno;
  } else if (S_ISDIR(status.st_mode)) {
    error = EISDIR;
  } else if (!S_ISREG(status.st_mode)) {
    ::close(fd);
    throw Error("cannot map " + named + ": not a regular file");
  }
  if (error == 0 && status.st_size > 0) {
    size_ = static_cast<uint64_t>(status.st_size);
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) {
      error = errno;
      size_ = 0;
    } else {
      data_ = static_cast<const unsigned char*>(mapped);
    }
  }
  ::close(fd);  // the mapping keeps the file
  if (error != 0) throw Error("cannot read " + named + ": " + std::strerror(error));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
}

void MappedFile::release(uint64_t offset, uint64_t length) const {
  if (data_ == nullptr || offset >= size_) return;
  // Every page the range touches: the mapping is read-only, so a page given back that a reader
  // still wants costs only its reading again, while pages kept at each range's ends would add up.
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first = offset / page * page;  // the mapping starts on a page
  const uint64_t end = std::min(offset + length, size_);
  if (end <= first) return;
  // Advice only: a failure leaves the pages mapped, which is harmless.
  ::madvise(const_cast<unsigned char*>(data_) + first, end - first, MADV_DONTNEED);
}

}  // namespace genrnn
