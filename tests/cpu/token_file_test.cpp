// Token files: tokenize_text_file gives build()'s vocabulary and encode_corpus's ids for any cut
// of the text into pieces, open_token_file refuses every damaged file in one line naming it,
// and a token file trains and evaluates to exactly the numbers its text gives.
#include "genrnn/token_file.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/token_counts.hpp"
#include "core/utf8.hpp"
#include "genrnn/error.hpp"
#include "genrnn/evaluate.hpp"
#include "genrnn/model.hpp"
#include "genrnn/text_file.hpp"
#include "genrnn/trainer.hpp"
#include "tests/support/error_of.hpp"
#include "tests/support/numeric.hpp"
#include "tests/support/scratch_folder.hpp"

namespace genrnn {
namespace {

using testing::error_of;

constexpr TokenizerKind kChar = TokenizerKind::character;
constexpr TokenizerKind kWord = TokenizerKind::word;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// Pieces of a few bytes for one test, so that every boundary case comes up.
class PieceBytes {
 public:
  explicit PieceBytes(std::size_t bytes) : previous_(set_tokenize_piece_bytes(bytes)) {}
  ~PieceBytes() { set_tokenize_piece_bytes(previous_); }
  PieceBytes(const PieceBytes&) = delete;
  PieceBytes& operator=(const PieceBytes&) = delete;

 private:
  std::size_t previous_;
};

std::vector<int> ids_of(const Corpus& corpus) {
  std::vector<int> ids(static_cast<std::size_t>(corpus.size()));
  for (int64_t i = 0; i < corpus.size(); ++i) ids[static_cast<std::size_t>(i)] = corpus[i];
  return ids;
}

// Words, inner and outer apostrophes, punctuation, newlines, tabs, no-break and ideographic
// spaces, 2-, 3- and 4-byte characters: every case where a cut could change a token.
std::string random_text(std::mt19937_64& rng, std::size_t pieces) {
  const std::vector<std::string> parts = {
      "the", "cat", "don't", "rock'n'roll", "'",   "''",   "dogs'", " ", "  ", "\n",       "\t",
      ".",   ",",   "!?",    "é",           "ünï", "深度", "学习",  "😀", "🎉x", "\xC2\xA0", "\xE3\x80\x80",
      "a",   "b",   "7",     "42",          "-",   "(\")", "x'",    "'y"};
  std::uniform_int_distribution<std::size_t> pick(0, parts.size() - 1);
  std::string text;
  for (std::size_t i = 0; i < pieces; ++i) text += parts[pick(rng)];
  return text;
}

class TokenFile : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return folder_.file(name); }

  // Tokenizes `text` (written to a file) and checks the token file against build() and encode_corpus.
  void expect_as_whole_text(const std::string& text, TokenizerKind kind, int vocab_size) {
    write_file(path("text.txt"), text);
    const TokenFileSummary summary = tokenize_text_file(path("text.txt"), path("text.tokens"), kind, vocab_size);
    const Tokenizer expected = Tokenizer::build(kind, text, vocab_size);
    const std::vector<int> expected_ids = encode_corpus(expected, text);
    const Corpus corpus = open_token_file(path("text.tokens"));
    ASSERT_NE(corpus.tokenizer(), nullptr);
    EXPECT_EQ(corpus.tokenizer()->kind(), kind);
    EXPECT_EQ(corpus.tokenizer()->tokens(), expected.tokens());
    EXPECT_EQ(ids_of(corpus), expected_ids);
    EXPECT_EQ(summary.tokens, static_cast<int64_t>(expected_ids.size()));
    EXPECT_EQ(summary.vocab_size, expected.size());
    EXPECT_EQ(summary.text_bytes, text.size());
    EXPECT_EQ(summary.file_bytes, std::filesystem::file_size(path("text.tokens")));
  }

  genrnn::testing::ScratchFolder folder_;
};

TEST_F(TokenFile, AnyCutIntoPiecesGivesTheWholeTextsVocabularyAndIds) {
  auto& rng = genrnn::testing::random_engine();
  for (int round = 0; round < 6; ++round) {
    const std::string text = random_text(rng, 300);
    for (std::size_t piece : {1, 2, 3, 4, 5, 7, 16, 100, 1 << 22}) {
      SCOPED_TRACE("piece bytes " + std::to_string(piece) + ", text: " + text);
      PieceBytes pieces(piece);
      expect_as_whole_text(text, kChar, 0);
      expect_as_whole_text(text, kWord, 1000);
      expect_as_whole_text(text, kWord, 6);  // most words <unk>
      if (HasFailure()) return;
    }
  }
}

TEST_F(TokenFile, ATokenLongerThanAPieceStaysWhole) {
  const std::string text = "short " + std::string(1000, 'w') + "'s end\n" + std::string(300, 'z');
  PieceBytes pieces(7);
  expect_as_whole_text(text, kWord, 100);
  expect_as_whole_text(text, kChar, 0);
}

TEST_F(TokenFile, PieceEndCutsOnlyWhereTokensEnd) {
  EXPECT_EQ(piece_end(kWord, "the cat"), 4u);    // after the space
  EXPECT_EQ(piece_end(kWord, "don't"), 0u);      // never after an apostrophe
  EXPECT_EQ(piece_end(kWord, "end."), 4u);       // after a full stop
  EXPECT_EQ(piece_end(kWord, "a\xC2\x85"), 0u);  // U+0085's continuation byte is no separator
  EXPECT_EQ(piece_end(kChar, "ab"), 1u);         // before the last code point
  EXPECT_EQ(piece_end(kChar, "a\xE6\xB7"), 1u);  // before a sequence that may go on
  EXPECT_EQ(piece_end(kChar, "a"), 0u);
  EXPECT_EQ(piece_end(kChar, "a\x80\x80\x80\x80"), 5u);  // no sequence reaches past four continuation bytes
}

TEST_F(TokenFile, WideVocabulariesHaveFourByteIds) {
  // Plane 1 whole (65,536 code points, no surrogates in it) and "a": one past 2-byte ids.
  std::string text = "a";
  for (char32_t c = 0x10000; c < 0x20000; ++c) text += encode_utf8(c);
  write_file(path("wide.txt"), text);
  const TokenFileSummary summary = tokenize_text_file(path("wide.txt"), path("wide.tokens"), kChar, 0);
  EXPECT_EQ(summary.id_width, 4);
  EXPECT_EQ(summary.vocab_size, 65537);
  const Corpus corpus = open_token_file(path("wide.tokens"));
  EXPECT_EQ(ids_of(corpus), encode_corpus(Tokenizer::build(kChar, text, 0), text));
  // 65,536 tokens still fit 2 bytes.
  text.erase(0, 1);
  write_file(path("wide.txt"), text);
  EXPECT_EQ(tokenize_text_file(path("wide.txt"), path("narrow.tokens"), kChar, 0).id_width, 2);
  EXPECT_EQ(ids_of(open_token_file(path("narrow.tokens"))).back(), 65535);
}

// Invalid UTF-8 anywhere, whatever the pieces, is the error read_corpus_file gives: its byte
// offset in the whole file, and the file's name.
TEST_F(TokenFile, InvalidUtf8IsNamedAtItsOffsetInTheWholeFile) {
  const std::string valid = "the cat's 深度 😀 sat.\n";
  for (const std::string bad : {"\xE9", "\x80", "\xE6\xB7", "\xF0\x9F\x98", "\xC0\xAF", "\xED\xA0\x80", "\xF8"}) {
    for (const std::string& text : {valid + valid + bad + " more", valid + valid + valid + bad}) {
      write_file(path("bad.txt"), text);
      const std::string expected = error_of([&] { read_corpus_file(path("bad.txt")); });
      ASSERT_NE(expected.find("invalid UTF-8 at byte"), std::string::npos) << expected;
      for (std::size_t piece : {1, 3, 5, 16, 1 << 22}) {
        PieceBytes pieces(piece);
        for (TokenizerKind kind : {kChar, kWord}) {
          EXPECT_EQ(error_of([&] { tokenize_text_file(path("bad.txt"), path("bad.tokens"), kind, 100); }), expected)
              << "piece bytes " << piece;
        }
      }
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path("bad.tokens")));
}

TEST_F(TokenFile, AFailedRunLeavesAnExistingFileAlone) {
  write_file(path("good.txt"), "the cat sat on the mat.\n");
  tokenize_text_file(path("good.txt"), path("out.tokens"), kWord, 100);
  const std::string before = read_file(path("out.tokens"));
  write_file(path("bad.txt"), "the cat sat on the \xFF mat.\n");
  EXPECT_NE(error_of([&] { tokenize_text_file(path("bad.txt"), path("out.tokens"), kWord, 100); }).find("byte 19"),
            std::string::npos);
  EXPECT_EQ(read_file(path("out.tokens")), before);
  // Nothing left beside it.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(folder_.path())) ++files;
  EXPECT_EQ(files, 3);
}

TEST_F(TokenFile, TextsThatGiveNoTokenFile) {
  write_file(path("empty.txt"), "");
  EXPECT_EQ(error_of([&] { tokenize_text_file(path("empty.txt"), path("e.tokens"), kChar, 0); }),
            "data file '" + path("empty.txt") + "' is empty");
  write_file(path("spaces.txt"), "   \t  ");
  EXPECT_NE(error_of([&] { tokenize_text_file(path("spaces.txt"), path("e.tokens"), kWord, 10); }).find("no tokens"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              tokenize_text_file(path("missing.txt"), path("e.tokens"), kChar, 0);
            }).find("cannot open data file '" + path("missing.txt") + "'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { tokenize_text_file(path("spaces.txt"), path("e.tokens"), kWord, 1); }).find("at least 2"),
            std::string::npos);
  write_file(path("t.txt"), "abc");
  EXPECT_NE(error_of([&] { tokenize_text_file(path("t.txt"), path("no/such/t.tokens"), kChar, 0); }).find("no/such"),
            std::string::npos);
  EXPECT_NE(error_of([&] { tokenize_text_file(path("t.txt"), path("t.txt"), kChar, 0); }).find("being tokenized"),
            std::string::npos);
  EXPECT_EQ(read_file(path("t.txt")), "abc");
  tokenize_text_file(path("t.txt"), path("t.tokens"), kChar, 0);
  EXPECT_NE(
      error_of([&] { tokenize_text_file(path("t.tokens"), path("u.tokens"), kChar, 0); }).find("token file already"),
      std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path("e.tokens")));
}

TEST_F(TokenFile, AGivenVocabularyEncodesAsEncodeDoes) {
  const Tokenizer vocabulary = Tokenizer::build(kWord, "the cat sat on the mat.", 100);
  const std::string text = "the dog sat on the cat. the end";
  write_file(path("other.txt"), text);
  PieceBytes pieces(4);
  for (UnknownPolicy policy : {UnknownPolicy::unk, UnknownPolicy::skip}) {
    tokenize_text_file(path("other.txt"), path("other.tokens"), vocabulary, policy);
    const Corpus corpus = open_token_file(path("other.tokens"));
    EXPECT_EQ(corpus.tokenizer()->tokens(), vocabulary.tokens());
    EXPECT_EQ(ids_of(corpus), vocabulary.encode(text, policy));
  }
  const std::string error =
      error_of([&] { tokenize_text_file(path("other.txt"), path("error.tokens"), vocabulary, UnknownPolicy::error); });
  EXPECT_EQ(error, "data file '" + path("other.txt") +
                       "': " + error_of([&] { vocabulary.encode(text, UnknownPolicy::error); }));
  EXPECT_NE(error.find("\"dog\" at byte 4 "), std::string::npos) << error;
}

TEST_F(TokenFile, IsTokenFileReadsTheMagic) {
  write_file(path("c.txt"), "GENRNNT is text");
  tokenize_text_file(path("c.txt"), path("c.tokens"), kChar, 0);
  EXPECT_TRUE(is_token_file(path("c.tokens")));
  EXPECT_FALSE(is_token_file(path("c.txt")));
  EXPECT_FALSE(is_token_file(path("missing")));
  EXPECT_FALSE(is_token_file(folder_.path().string()));
}

// ---------------------------------------------------------------------------------------------
// Damaged files: one line naming the file and what is wrong.

class BadTokenFile : public TokenFile {
 protected:
  void SetUp() override {
    write_file(path("c.txt"), "the cat sat on the mat, and the dog sat on the log.\n");
    tokenize_text_file(path("c.txt"), path("c.tokens"), kChar, 0);
    good_ = read_file(path("c.tokens"));
  }
  // The error opening `bytes` as a token file gives.
  std::string open_error(const std::string& bytes) {
    write_file(path("bad.tokens"), bytes);
    const std::string error = error_of([&] { open_token_file(path("bad.tokens")); });
    EXPECT_EQ(error.rfind("token file '" + path("bad.tokens") + "' ", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    return error;
  }
  std::string with_u32(std::size_t at, uint32_t value) const {
    std::string bytes = good_;
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
    return bytes;
  }
  std::string with_byte(std::size_t at, char value) const {
    std::string bytes = good_;
    bytes[at] = value;
    return bytes;
  }
  std::string with_u64(std::size_t at, uint64_t value) const {
    std::string bytes = good_;
    for (int i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
    return bytes;
  }
  std::string good_;
};

TEST_F(BadTokenFile, EachDamageIsNamed) {
  const uint64_t tokens = 52, ids_at = good_.size() - tokens * 2;
  ASSERT_EQ(open_token_file(path("c.tokens")).size(), static_cast<int64_t>(tokens));
  const struct {
    std::string bytes;
    std::string says;
  } cases[] = {
      {"", "is not a genrnn token file"},
      {"the cat sat on the mat", "is not a genrnn token file"},
      {good_.substr(0, 30), "is truncated: 30 bytes"},
      {good_.substr(0, good_.size() - 1), "is truncated"},
      {good_.substr(0, ids_at), "is truncated"},
      {good_ + std::string(2, '\0'), "does not match its header"},
      {with_u32(8, 2), "has format version 2; this genrnn reads version 1"},
      {with_u32(12, 7), "has tokenizer kind 7"},
      {with_u32(16, 4), "has ids of 4 bytes"},
      {with_u32(20, 0), "has a vocabulary of 0 tokens"},
      {with_u32(20, 70000), "has ids of 2 bytes; a vocabulary of 70000 tokens has ids of 4"},
      {with_u64(24, tokens + 1), "is truncated"},
      {with_u64(24, uint64_t{1} << 62), "the header says 4611686018427387904 ids"},
      {with_u64(24, ~uint64_t{0}), "ids of 2 bytes"},
      {with_u64(32, 3), "does not match its header"},
      {with_u64(32, ~uint64_t{0} - 4), "does not match its header"},
      {with_u64(40, 48), "does not match its header"},
      {with_u32(48, 1000), "has a damaged vocabulary: token 0 runs past its end"},
      {with_byte(57, '\n'), "has a bad vocabulary: the vocabulary has token \"\\n\" (U+000A) twice (ids 0 and 1)"},
      {with_u32(20, 11), "has a damaged vocabulary"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.says);
    const std::string error = open_error(bad.bytes);
    EXPECT_NE(error.find(bad.says), std::string::npos) << error;
  }
}

TEST_F(BadTokenFile, AnIdPastTheVocabularyIsNamedWithItsPosition) {
  const std::size_t ids_at = good_.size() - 52 * 2;
  std::string bytes = good_;
  bytes[ids_at + 2 * 40] = 99;  // token 40: id 99 of a vocabulary of 16
  EXPECT_NE(open_error(bytes).find("has id 99 at token 40, past its vocabulary of "), std::string::npos);
}

TEST_F(BadTokenFile, AVocabularyThatIsNotTheCheckpointsIsNamed) {
  const Corpus corpus = open_token_file(path("c.tokens"));
  const Tokenizer other = Tokenizer::build(kChar, "the cat sat on the mat, and the dog sat on the log.\n!", 0);
  const std::string error = error_of([&] { require_vocabulary(corpus, other, "that of checkpoint 'm.safetensors'"); });
  EXPECT_NE(error.find("token file '" + path("c.tokens") +
                       "' has a char vocabulary of 16 tokens, not that of "
                       "checkpoint 'm.safetensors' (a char vocabulary of 17 tokens)"),
            std::string::npos)
      << error;
  EXPECT_EQ(error_of([&] { require_vocabulary(corpus, *corpus.tokenizer(), "the model's"); }), "nothing thrown");
  const Tokenizer same_size = Tokenizer::build(kChar, "the cat sat on the mat, and the dox sat on the lox.\n", 0);
  EXPECT_NE(error_of([&] { require_vocabulary(corpus, same_size, "the model's"); }).find("differ from id 8 on"),
            std::string::npos);
}

// Opening reads every id once but does not leave the file in memory: each block's pages are
// given back. (RssFile: the file's pages this process has mapped.)
TEST_F(TokenFile, OpeningDoesNotLeaveTheFileResident) {
  const auto rss_file_kib = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("RssFile:", 0) == 0) return std::stol(line.substr(8));
    return -1L;
  };
  if (rss_file_kib() < 0) GTEST_SKIP() << "no RssFile in /proc/self/status";
  // 64 MiB of ids (all 0) of the vocabulary {"a", "b"}, written as the format has it.
  write_file(path("two.txt"), "ab");
  tokenize_text_file(path("two.txt"), path("two.tokens"), kChar, 0);
  std::string bytes = read_file(path("two.tokens"));
  const uint64_t tokens = uint64_t{32} << 20;
  bytes.resize(bytes.size() - 4);
  for (int i = 0; i < 8; ++i) bytes[24 + i] = static_cast<char>(tokens >> (8 * i));
  {
    std::ofstream out(path("big.tokens"), std::ios::binary);
    out << bytes;
  }
  std::filesystem::resize_file(path("big.tokens"), bytes.size() + tokens * 2);
  const long before = rss_file_kib();
  const Corpus corpus = open_token_file(path("big.tokens"));
  const long after = rss_file_kib();
  EXPECT_EQ(corpus.size(), static_cast<int64_t>(tokens));
  EXPECT_EQ(corpus[tokens - 1], 0);
  EXPECT_LT(after - before, 16 * 1024) << "KiB of the 64 MiB file left mapped after opening it";
}

// ---------------------------------------------------------------------------------------------
// A token file trains and evaluates to exactly what its text gives.

std::string training_text() {
  std::string text;
  const std::vector<std::string> lines = {"the cat sat on the mat.\n", "a dog ran in the park!\n",
                                          "don't stop the music, rock'n'roll.\n", "深度学习很有趣 😀\n"};
  for (int i = 0; text.size() < 30000; ++i) text += lines[(i * 7 + i / 3) % lines.size()];
  return text;
}

TrainOptions short_run(const std::string& out_path) {
  TrainOptions options;
  options.seq_len = 16;
  options.batch = 4;
  options.steps = 12;
  options.val_frac = 0.1f;
  options.eval_every = 6;
  options.checkpoint_every = 0;
  options.engine.device = Device::cpu;
  options.out_path = out_path;
  return options;
}

TEST_F(TokenFile, ANewModelOfItsVocabularyIsForTextsModel) {
  const std::string text = training_text();
  write_file(path("c.txt"), text);
  for (TokenizerKind kind : {kChar, kWord}) {
    tokenize_text_file(path("c.txt"), path("c.tokens"), kind, 20);
    const Corpus corpus = open_token_file(path("c.tokens"));
    ModelConfig shape{CellType::lstm, 2, 24, 8, 0, kind};
    const Model from_text = Model::for_text(shape, text, 20, 7);
    shape.vocab_size = corpus.tokenizer()->size();
    const Model from_file = Model::initialize(shape, *corpus.tokenizer(), 7);
    EXPECT_EQ(from_file.tokenizer.tokens(), from_text.tokenizer.tokens());
    EXPECT_EQ(from_file.parameters, from_text.parameters);
  }
}

TEST_F(TokenFile, TrainsToExactlyTheWeightsOfItsText) {
  const std::string text = training_text();
  write_file(path("c.txt"), text);
  PieceBytes pieces(1000);
  for (TokenizerKind kind : {kChar, kWord}) {
    SCOPED_TRACE(to_string(kind));
    tokenize_text_file(path("c.txt"), path("c.tokens"), kind, 12);
    ModelConfig shape{CellType::lstm, 1, 24, 8, 0, kind};
    const Model model = Model::for_text(shape, text, 12, 3);

    Trainer from_text(model, encode_corpus(model.tokenizer, text), short_run(path("text.safetensors")));
    from_text.run({});
    Trainer from_file(model, open_token_file(path("c.tokens")), short_run(path("file.safetensors")));
    from_file.run({});
    EXPECT_EQ(from_file.model().parameters, from_text.model().parameters);
    EXPECT_EQ(from_file.validation_loss(), from_text.validation_loss());
    EXPECT_EQ(read_file(path("file.safetensors")), read_file(path("text.safetensors")));
  }
}

TEST_F(TokenFile, EvaluatesToExactlyTheLossOfItsText) {
  const std::string text = training_text().substr(0, 3000);
  write_file(path("c.txt"), text);
  tokenize_text_file(path("c.txt"), path("c.tokens"), kChar, 0);
  const Model model = Model::for_text({CellType::gru, 1, 16, 0, 0, kChar}, text, 0, 5);
  const EngineOptions cpu{Device::cpu, "auto"};
  const EvalResult from_text = evaluate(model, model.tokenizer.encode(text, UnknownPolicy::error), cpu);
  const EvalResult from_file = evaluate(model, open_token_file(path("c.tokens")), cpu);
  EXPECT_EQ(from_file.loss, from_text.loss);
  EXPECT_EQ(from_file.tokens, from_text.tokens);
  // Another vocabulary's ids mean nothing to the model.
  const Model other = Model::for_text({CellType::gru, 1, 16, 0, 0, kChar}, text + "#", 0, 5);
  EXPECT_NE(error_of([&] { evaluate(other, open_token_file(path("c.tokens")), cpu); }).find(", not the model's"),
            std::string::npos);
}

}  // namespace
}  // namespace genrnn
