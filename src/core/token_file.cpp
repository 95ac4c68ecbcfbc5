#include "genrnn/token_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <ostream>
#include <string_view>
#include <utility>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/mapped_file.hpp"
#include "core/token_counts.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

namespace genrnn {
namespace {

// The header, all little-endian (docs/ARCHITECTURE.md, "Token files"):
//   0  magic "GENRNNTK"        24  u64 token count N
//   8  u32 version (1)         32  u64 vocabulary bytes B
//  12  u32 kind (0 char, 1 word)  40  u64 ids offset: 48 + B rounded up to a multiple of 8
//  16  u32 id width W (2, 4)   48  the vocabulary: V x (u32 byte length, UTF-8 bytes), then zeros
//  20  u32 vocabulary size V       to the ids offset, then N ids of W bytes each, unsigned.
constexpr char magic[8] = {'G', 'E', 'N', 'R', 'N', 'N', 'T', 'K'};
constexpr uint64_t header_bytes = 48;
constexpr uint64_t count_field = 24;
constexpr uint64_t ids_alignment = 8;
// Text is read, tokenized and written this much at a time (set_tokenize_piece_bytes).
std::atomic<std::size_t> piece_bytes{std::size_t{1} << 20};

int id_width(int vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

uint64_t ids_offset(uint64_t vocabulary_bytes) {
  return (header_bytes + vocabulary_bytes + ids_alignment - 1) / ids_alignment * ids_alignment;
}

void put_u32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>(value >> (8 * i) & 0xFF);
}

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>(value >> (8 * i) & 0xFF);
}

uint64_t get_le(const unsigned char* bytes, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = value << 8 | bytes[i];
  return value;
}

uint32_t kind_code(TokenizerKind kind) { return kind == TokenizerKind::word ? 1 : 0; }

// The header and vocabulary, with `tokens` ids to follow.
std::string header(const Tokenizer& vocabulary, int64_t tokens) {
  std::string block;
  for (const std::string& token : vocabulary.tokens()) {
    put_u32(block, static_cast<uint32_t>(token.size()));
    block += token;
  }
  std::string out(magic, sizeof magic);
  put_u32(out, token_file_version);
  put_u32(out, kind_code(vocabulary.kind()));
  put_u32(out, static_cast<uint32_t>(id_width(vocabulary.size())));
  put_u32(out, static_cast<uint32_t>(vocabulary.size()));
  put_u64(out, static_cast<uint64_t>(tokens));
  put_u64(out, block.size());
  put_u64(out, ids_offset(block.size()));
  out += block;
  out.resize(ids_offset(block.size()), '\0');
  return out;
}

std::string data_file(const std::string& path) { return "data file '" + path + "'"; }

// A text file read in pieces that each end where a token does (piece_end), so that the pieces
// tokenize as the whole text does.
class TextPieces {
 public:
  TextPieces(const std::string& path, TokenizerKind kind) : path_(path), kind_(kind) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot open " + data_file(path) + ": " + std::strerror(errno));
    struct stat status {};
    if (::fstat(fd_, &status) != 0) fail_reading(errno);
    if (S_ISDIR(status.st_mode)) fail_reading(EISDIR);
    size_ = static_cast<uint64_t>(std::max<off_t>(status.st_size, 0));
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~TextPieces() { ::close(fd_); }
  TextPieces(const TextPieces&) = delete;
  TextPieces& operator=(const TextPieces&) = delete;

  uint64_t size() const { return size_; }        // as the file said when opened (for progress)
  uint64_t consumed() const { return offset_; }  // bytes handed out in pieces

  // The next piece and its byte offset in the text; false at the end.
  bool next(std::string& piece, uint64_t& offset) {
    std::size_t cut = 0;
    for (;;) {
      if (!end_) read_more();
      if (end_) {
        cut = buffer_.size();
        break;
      }
      // Only the bytes read since the last search can hold a new cut (word level scans back).
      const std::size_t from = kind_ == TokenizerKind::word ? searched_ : 0;
      const std::size_t found = piece_end(kind_, std::string_view(buffer_).substr(from));
      if (found > 0) {
        cut = from + found;
        break;
      }
      searched_ = buffer_.size();  // a token longer than a piece: read on
    }
    if (cut == 0) return false;
    piece.assign(buffer_, 0, cut);
    buffer_.erase(0, cut);
    searched_ = 0;
    offset = offset_;
    offset_ += cut;
    return true;
  }

 private:
  [[noreturn]] void fail_reading(int error) const {
    throw Error("cannot read " + data_file(path_) + ": " + std::strerror(error));
  }

  void read_more() {
    const std::size_t start = buffer_.size();
    buffer_.resize(start + piece_bytes.load());
    std::size_t filled = start;
    while (filled < buffer_.size()) {
      const ssize_t count = ::read(fd_, &buffer_[filled], buffer_.size() - filled);
      if (count < 0) {
        if (errno == EINTR) continue;
        fail_reading(errno);
      }
      if (count == 0) {
        end_ = true;
        break;
      }
      filled += static_cast<std::size_t>(count);
    }
    buffer_.resize(filled);
  }

  std::string path_;
  TokenizerKind kind_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string buffer_;        // read, not yet handed out
  std::size_t searched_ = 0;  // buffer_[0, searched_) holds no cut
  uint64_t offset_ = 0;
  bool end_ = false;
};

// A tokenizing error about the text, named: "data file 'c.txt': invalid UTF-8 at byte ...".
[[noreturn]] void rethrow_about(const std::string& path, const Error& error) {
  throw Error(data_file(path) + ": " + error.what());
}

// Before any work: a text that is one, and a token file that can be written in its place.
void check_paths(const std::string& text_path, const std::string& out_path) {
  if (is_token_file(text_path)) throw Error(data_file(text_path) + " is a token file already, not a text to tokenize");
  std::error_code no_file;
  if (std::filesystem::equivalent(text_path, out_path, no_file))
    throw Error("cannot write " + out_path + ": it is the text file being tokenized");
  check_writable(out_path);
}

// Counts the text's tokens in a first pass: the vocabulary build() gives for the whole text.
Tokenizer count_vocabulary(const std::string& path, TokenizerKind kind, int vocab_size,
                           const TokenizeCallback& progress, int64_t& tokens) {
  TokenCounts counts(kind, vocab_size);
  TextPieces text(path, kind);
  std::string piece;
  uint64_t offset = 0;
  while (text.next(piece, offset)) {
    try {
      counts.add(piece, offset);
    } catch (const Error& error) {
      rethrow_about(path, error);
    }
    if (progress) progress({1, 2, text.consumed(), text.size()});
  }
  if (text.consumed() == 0) throw Error(data_file(path) + " is empty");
  tokens = counts.total();
  try {
    return counts.vocabulary();
  } catch (const Error& error) {
    rethrow_about(path, error);
  }
}

// Writes the token file of the text at `path` with `vocabulary`; `expected_tokens` >= 0: the
// count a first pass found, which this one must find again (else the file changed meanwhile).
TokenFileSummary write_token_file(const std::string& path, const std::string& out_path, const Tokenizer& vocabulary,
                                  UnknownPolicy unknown, int64_t expected_tokens, int pass, int passes,
                                  const TokenizeCallback& progress) {
  if (vocabulary.size() > limits::max_vocab_size)
    throw Error("the vocabulary of " + data_file(path) + " has " + std::to_string(vocabulary.size()) +
                " tokens, more than a model may have (" + std::to_string(limits::max_vocab_size) +
                "): give a smaller --vocab-size");
  const int width = id_width(vocabulary.size());
  TokenFileSummary summary;
  summary.kind = vocabulary.kind();
  summary.vocab_size = vocabulary.size();
  summary.id_width = width;
  write_file_atomically(out_path, [&](std::ostream& out) {
    const std::string head = header(vocabulary, 0);  // the count is filled in at the end
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    TextPieces text(path, vocabulary.kind());
    std::string piece, bytes;
    std::vector<int> ids;
    uint64_t offset = 0;
    int64_t tokens = 0;
    while (text.next(piece, offset)) {
      ids.clear();
      try {
        vocabulary.encode_piece(piece, offset, unknown, ids);
      } catch (const Error& error) {
        rethrow_about(path, error);
      }
      bytes.resize(ids.size() * static_cast<std::size_t>(width));
      unsigned char* at = reinterpret_cast<unsigned char*>(bytes.data());
      for (int id : ids) {
        const auto value = static_cast<uint32_t>(id);
        for (int i = 0; i < width; ++i) *at++ = static_cast<unsigned char>(value >> (8 * i));
      }
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) throw Error("cannot write " + out_path + ": " + std::strerror(errno != 0 ? errno : EIO));
      tokens += static_cast<int64_t>(ids.size());
      if (progress) progress({pass, passes, text.consumed(), text.size()});
    }
    if (text.consumed() == 0) throw Error(data_file(path) + " is empty");
    if (expected_tokens >= 0 && tokens != expected_tokens)
      throw Error(data_file(path) + " changed while it was tokenized: " + std::to_string(expected_tokens) +
                  " tokens in the first pass, " + std::to_string(tokens) + " in the second");
    if (tokens == 0) throw Error(data_file(path) + " has no tokens in this vocabulary");
    std::string count;
    put_u64(count, static_cast<uint64_t>(tokens));
    out.seekp(static_cast<std::streamoff>(count_field));
    out.write(count.data(), static_cast<std::streamsize>(count.size()));
    out.seekp(0, std::ios::end);
    summary.tokens = tokens;
    summary.text_bytes = text.consumed();
    summary.file_bytes = head.size() + static_cast<uint64_t>(tokens) * static_cast<uint64_t>(width);
  });
  return summary;
}

// "token file 'c.tokens' <what>".
[[noreturn]] void bad_file(const std::string& path, const std::string& what) {
  throw Error("token file '" + path + "' " + what);
}

std::string vocabulary_text(const Tokenizer& vocabulary) {
  return "a " + to_string(vocabulary.kind()) + " vocabulary of " + std::to_string(vocabulary.size()) + " tokens";
}

}  // namespace

TokenFileSummary tokenize_text_file(const std::string& text_path, const std::string& out_path, TokenizerKind kind,
                                    int vocab_size, const TokenizeCallback& progress) {
  check_paths(text_path, out_path);
  int64_t tokens = 0;
  const Tokenizer vocabulary = count_vocabulary(text_path, kind, vocab_size, progress, tokens);
  const UnknownPolicy unknown = kind == TokenizerKind::word ? UnknownPolicy::unk : UnknownPolicy::error;
  return write_token_file(text_path, out_path, vocabulary, unknown, tokens, 2, 2, progress);
}

TokenFileSummary tokenize_text_file(const std::string& text_path, const std::string& out_path,
                                    const Tokenizer& vocabulary, UnknownPolicy unknown,
                                    const TokenizeCallback& progress) {
  check_paths(text_path, out_path);
  return write_token_file(text_path, out_path, vocabulary, unknown, -1, 1, 1, progress);
}

std::size_t set_tokenize_piece_bytes(std::size_t bytes) {
  return piece_bytes.exchange(std::max<std::size_t>(bytes, 1));
}

bool is_token_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char start[sizeof magic];
  ssize_t count;
  do {
    count = ::pread(fd, start, sizeof start, 0);
  } while (count < 0 && errno == EINTR);
  ::close(fd);
  return count == static_cast<ssize_t>(sizeof start) && std::memcmp(start, magic, sizeof magic) == 0;
}

Corpus open_token_file(const std::string& path) {
  auto file = std::make_shared<const MappedFile>(path, "token file");
  const unsigned char* bytes = file->data();
  const uint64_t size = file->size();
  if (size < sizeof magic || std::memcmp(bytes, magic, sizeof magic) != 0)
    bad_file(path, "is not a genrnn token file (it does not start with \"GENRNNTK\"; gen_cuda tokenize makes one)");
  if (size < header_bytes)
    bad_file(path, "is truncated: " + std::to_string(size) + " bytes, less than its " + std::to_string(header_bytes) +
                       "-byte header");
  const auto version = get_le(bytes + 8, 4);
  if (version != token_file_version)
    bad_file(path, "has format version " + std::to_string(version) + "; this genrnn reads version " +
                       std::to_string(token_file_version) + " (make it again with gen_cuda tokenize)");
  const auto kind_field = get_le(bytes + 12, 4);
  const auto width = get_le(bytes + 16, 4);
  const auto vocab_size = get_le(bytes + 20, 4);
  const auto tokens = get_le(bytes + 24, 8);
  const auto vocabulary_bytes = get_le(bytes + 32, 8);
  const auto offset = get_le(bytes + 40, 8);
  if (kind_field > 1) bad_file(path, "has tokenizer kind " + std::to_string(kind_field) + " (0: char, 1: word)");
  if (vocab_size < 1 || vocab_size > static_cast<uint64_t>(limits::max_vocab_size))
    bad_file(path, "has a vocabulary of " + std::to_string(vocab_size) + " tokens (1 to " +
                       std::to_string(limits::max_vocab_size) + " allowed)");
  if (width != static_cast<uint64_t>(id_width(static_cast<int>(vocab_size))))
    bad_file(path, "has ids of " + std::to_string(width) + " bytes; a vocabulary of " + std::to_string(vocab_size) +
                       " tokens has ids of " + std::to_string(id_width(static_cast<int>(vocab_size))));
  // Each field against the file's size before any sum, so that none can overflow.
  if (vocabulary_bytes > size || offset != ids_offset(vocabulary_bytes) || offset > size ||
      tokens > (size - offset) / width || offset + tokens * width != size) {
    const bool short_file = vocabulary_bytes <= size && offset == ids_offset(vocabulary_bytes) &&
                            tokens <= std::numeric_limits<uint64_t>::max() / 8 && offset + tokens * width > size;
    bad_file(path, std::string(short_file ? "is truncated" : "does not match its header") + ": the header says " +
                       std::to_string(tokens) + " ids of " + std::to_string(width) + " bytes after " +
                       std::to_string(vocabulary_bytes) + " bytes of vocabulary (ids from byte " +
                       std::to_string(offset) + "), but the file has " + std::to_string(size) + " bytes");
  }
  if (tokens > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) bad_file(path, "has too many ids");

  // The vocabulary: V length-prefixed tokens filling its bytes exactly, then zeros.
  const TokenizerKind kind = kind_field == 1 ? TokenizerKind::word : TokenizerKind::character;
  std::vector<std::string> tokens_text;
  tokens_text.reserve(vocab_size);
  uint64_t at = header_bytes;
  const uint64_t vocabulary_end = header_bytes + vocabulary_bytes;
  for (uint64_t id = 0; id < vocab_size; ++id) {
    if (vocabulary_end - at < 4)
      bad_file(path, "has a damaged vocabulary: token " + std::to_string(id) + " is cut off");
    const uint64_t length = get_le(bytes + at, 4);
    at += 4;
    if (vocabulary_end - at < length)
      bad_file(path, "has a damaged vocabulary: token " + std::to_string(id) + " runs past its end");
    tokens_text.emplace_back(reinterpret_cast<const char*>(bytes + at), length);
    at += length;
  }
  if (at != vocabulary_end)
    bad_file(path, "has a damaged vocabulary: " + std::to_string(vocabulary_end - at) + " bytes after its last token");
  if (std::any_of(bytes + vocabulary_end, bytes + offset, [](unsigned char b) { return b != 0; }))
    bad_file(path, "has a damaged header: the padding before the ids is not zeros");
  std::shared_ptr<const Tokenizer> vocabulary;
  try {
    vocabulary = std::make_shared<const Tokenizer>(Tokenizer::from_vocab(kind, std::move(tokens_text)));
  } catch (const Error& error) {
    bad_file(path, std::string("has a bad vocabulary: ") + error.what());
  }

  // Every id below the vocabulary's size, read once, a block at a time, each block's pages given
  // back as soon as it is checked. (With 2-byte ids and 65,536 tokens, every id is one.)
  const unsigned char* ids = bytes + offset;
  if (!(width == 2 && vocab_size == 65536)) {
    constexpr uint64_t block_ids = uint64_t{1} << 22;
    for (uint64_t first = 0; first < tokens; first += block_ids) {
      const uint64_t count = std::min(block_ids, tokens - first);
      uint32_t largest = 0;
      if (width == 2) {
        for (uint64_t i = 0; i < count; ++i) {
          uint16_t id;
          std::memcpy(&id, ids + (first + i) * 2, 2);
          largest = std::max<uint32_t>(largest, id);
        }
      } else {
        for (uint64_t i = 0; i < count; ++i) {
          uint32_t id;
          std::memcpy(&id, ids + (first + i) * 4, 4);
          largest = std::max(largest, id);
        }
      }
      if (largest >= vocab_size) {
        uint64_t i = first;
        while (get_le(ids + i * width, static_cast<int>(width)) < vocab_size) ++i;
        bad_file(path, "has id " + std::to_string(get_le(ids + i * width, static_cast<int>(width))) + " at token " +
                           std::to_string(i) + ", past its vocabulary of " + std::to_string(vocab_size) + " tokens");
      }
      file->release(offset + first * width, count * width);
    }
  }
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Corpus reads the little-endian ids as they are");
  return Corpus({path, file, ids, static_cast<int>(width), static_cast<int64_t>(tokens), std::move(vocabulary),
                 [file, offset](uint64_t first, uint64_t bytes) { file->release(offset + first, bytes); }});
}

void require_vocabulary(const Corpus& corpus, const Tokenizer& vocabulary, const std::string& whose) {
  const Tokenizer* own = corpus.tokenizer();
  const std::string& path = corpus.path();
  if (own == nullptr || (own->kind() == vocabulary.kind() && own->tokens() == vocabulary.tokens())) return;
  std::string difference;
  if (own->kind() == vocabulary.kind() && own->size() == vocabulary.size()) {
    const auto mismatch = std::mismatch(own->tokens().begin(), own->tokens().end(), vocabulary.tokens().begin());
    difference = " (they differ from id " + std::to_string(mismatch.first - own->tokens().begin()) + " on)";
  }
  bad_file(path, "has " + vocabulary_text(*own) + ", not " + whose + " (" + vocabulary_text(vocabulary) + ")" +
                     difference + "; tokenize the text with that vocabulary (gen_cuda tokenize --model) or train anew");
}

}  // namespace genrnn
