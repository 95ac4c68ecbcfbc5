#include "genrnn/corpus.hpp"

#include "genrnn/error.hpp"

namespace genrnn {

Corpus::Corpus(std::vector<int> ids) {
  auto owned = std::make_shared<const std::vector<int>>(std::move(ids));
  data_ = reinterpret_cast<const unsigned char*>(owned->data());
  size_ = static_cast<int64_t>(owned->size());
  storage_ = std::move(owned);
}

Corpus::Corpus(FileIds ids)
    : storage_(std::move(ids.storage)),
      data_(static_cast<const unsigned char*>(ids.data)),
      width_(ids.width),
      size_(ids.size),
      tokenizer_(std::move(ids.tokenizer)),
      path_(std::move(ids.path)),
      release_(std::move(ids.release)) {
  if (width_ != 2 && width_ != 4) throw Error("token ids are 2 or 4 bytes wide, not " + std::to_string(width_));
  if (size_ < 0 || (size_ > 0 && data_ == nullptr)) throw Error("a corpus needs its ids");
}

}  // namespace genrnn
