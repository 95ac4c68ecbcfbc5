#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace genrnn {

// A whole file mapped read-only into memory, unmapped when destroyed. Reading it faults in only
// the pages read; release() gives pages back (they stay in the page cache, not in this process).
class MappedFile {
 public:
  // Throws Error naming `what` and `path` ("token file 'c.tokens'") where the file cannot be
  // opened, read or mapped, or is a folder. An empty file maps to size() 0 and data() null.
  MappedFile(const std::string& path, const std::string& what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  uint64_t size() const { return size_; }
  // Drops the pages that hold [offset, offset + length) from this process's memory; reading
  // them again faults them back in from the file.
  void release(uint64_t offset, uint64_t length) const;

 private:
  const unsigned char* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace genrnn
