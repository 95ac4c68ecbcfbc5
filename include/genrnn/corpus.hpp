#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genrnn/tokenizer.hpp"

namespace genrnn {

// A training text as token ids: held in memory (encode_corpus) or memory-mapped from a token
// file (open_token_file), whose ids are 16 or 32 bits wide. Copies share the ids; reading them
// touches only the pages read, so a mapped corpus costs memory only where it is read.
class Corpus {
 public:
  // Ids read from a file (a token file's), and what reading them needs.
  struct FileIds {
    std::string path;
    std::shared_ptr<const void> storage;  // keeps `data` alive (the mapping)
    const void* data = nullptr;           // `size` ids of `width` bytes (2 or 4, little-endian, unsigned)
    int width = 4;
    int64_t size = 0;
    std::shared_ptr<const Tokenizer> tokenizer;  // the vocabulary the ids were made with
    // Gives back the memory of the ids' bytes [offset, offset + bytes), counted from `data`.
    std::function<void(uint64_t offset, uint64_t bytes)> release;
  };

  Corpus(std::vector<int> ids);  // NOLINT(google-explicit-constructor): a corpus is its ids
  explicit Corpus(FileIds ids);

  int64_t size() const { return size_; }
  int operator[](int64_t i) const {
    if (width_ == 2) {
      uint16_t id;
      std::memcpy(&id, data_ + i * 2, 2);
      return id;
    }
    int32_t id;
    std::memcpy(&id, data_ + i * 4, 4);
    return id;
  }
  // The vocabulary a token file names; null for ids in memory.
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // The file the ids come from; empty for ids in memory.
  const std::string& path() const { return path_; }
  // Hands back the memory of ids [first, first + count) where they are read from a file (reading
  // them again reads the file): a reader done with a stretch calls it, so that memory does not
  // grow with the corpus. Nothing for ids in memory.
  void release(int64_t first, int64_t count) const {
    if (release_ && count > 0) release_(static_cast<uint64_t>(first) * width_, static_cast<uint64_t>(count) * width_);
  }

 private:
  std::shared_ptr<const void> storage_;
  const unsigned char* data_ = nullptr;
  int width_ = 4;
  int64_t size_ = 0;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::string path_;
  std::function<void(uint64_t, uint64_t)> release_;
};

}  // namespace genrnn
