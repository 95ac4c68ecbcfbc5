#include "genrnn/tokenizer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "genrnn/error.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

using Tokens = std::vector<std::string>;

constexpr TokenizerKind kChar = TokenizerKind::character;
constexpr TokenizerKind kWord = TokenizerKind::word;

// The token texts that `text` splits into, through a vocabulary built from the text itself.
Tokens split(TokenizerKind kind, const std::string& text) {
  const Tokenizer tokenizer = Tokenizer::build(kind, text, 1000);
  Tokens texts;
  for (int id : tokenizer.encode(text, UnknownPolicy::error)) texts.push_back(tokenizer.tokens()[id]);
  return texts;
}

// Expects `action` to throw an Error whose message contains `fragment`.
template <typename Action>
void expect_error(Action action, const std::string& fragment) {
  try {
    action();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "expected \"" << fragment << "\" in: " << e.what();
    return;
  }
  ADD_FAILURE() << "no Error thrown; expected one saying: " << fragment;
}

TEST(Tokenizer, CharRoundTripsAsciiLatinChineseAndEmoji) {
  for (const std::string text : {"Hello, world!\n", "Crème brûlée à la française", "深度学习很有趣", "party 🎉😀 time",
                                 "混合 text, ünïcödé & 😀\n"}) {
    SCOPED_TRACE(text);
    const Tokenizer tokenizer = Tokenizer::build(kChar, text, 0);
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text, UnknownPolicy::error)), text);
  }
  // One token per code point, whatever its byte length.
  EXPECT_EQ(split(kChar, "深度学习很有趣").size(), 7u);
  EXPECT_EQ(split(kChar, "a😀é"), (Tokens{"a", "😀", "é"}));
}

TEST(Tokenizer, CharBuildKeepsEachCodePointOnceInCodePointOrder) {
  EXPECT_EQ(Tokenizer::build(kChar, "banana ba\n", 0).tokens(), (Tokens{"\n", " ", "a", "b", "n"}));
  // U+0061 < U+00E9 < U+6DF1 < U+1F600, whatever the byte lengths.
  EXPECT_EQ(Tokenizer::build(kChar, "😀深éa深😀", 0).tokens(), (Tokens{"a", "é", "深", "😀"}));
  // max_vocab does not cap a char vocabulary.
  EXPECT_EQ(Tokenizer::build(kChar, "abcdef", 2).size(), 6);
}

TEST(Tokenizer, BuildRejectsTextWithoutTokens) {
  expect_error([] { Tokenizer::build(kChar, "", 100); }, "the text has no tokens");
  expect_error([] { Tokenizer::build(kWord, " \t\r ", 100); }, "the text has no tokens");
}

TEST(Tokenizer, WordSplitsWordsPunctuationApostrophesAndNewlines) {
  EXPECT_EQ(split(kWord, "Don't stop, it's 'fine'!\nNew line (really).\n\nEnd"),
            (Tokens{"Don't", "stop", ",", "it's", "'", "fine", "'", "!", "\n", "New", "line", "(", "really", ")", ".",
                    "\n", "\n", "End"}));
  EXPECT_EQ(split(kWord, "cats' toys rock'n'roll '90s x''y"),
            (Tokens{"cats", "'", "toys", "rock'n'roll", "'", "90s", "x", "'", "'", "y"}));
  // Every Unicode space separates; "\r\n" leaves one newline token; case is kept.
  EXPECT_EQ(split(kWord, "The\tthe\r\nTHE\u00A0x\u3000y  z"), (Tokens{"The", "the", "\n", "THE", "x", "y", "z"}));
  // Non-ASCII letters and punctuation are word characters.
  EXPECT_EQ(split(kWord, "深度学习 很有趣。 naïve—café 3.14"),
            (Tokens{"深度学习", "很有趣。", "naïve—café", "3", ".", "14"}));
}

TEST(Tokenizer, WordBuildRanksByCountThenTextAndCaps) {
  const std::string text = "b a c b a b d x X";
  // Counts: b 3, a 2, then c d x X once each, tied and so in byte order ("X" < "c").
  EXPECT_EQ(Tokenizer::build(kWord, text, 100).tokens(), (Tokens{"<unk>", "b", "a", "X", "c", "d", "x"}));
  EXPECT_EQ(Tokenizer::build(kWord, text, 4).tokens(), (Tokens{"<unk>", "b", "a", "X"}));
  EXPECT_EQ(Tokenizer::build(kWord, text, 2).tokens(), (Tokens{"<unk>", "b"}));
  EXPECT_EQ(Tokenizer::build(kWord, "\n. .\n\n", 10).tokens(), (Tokens{"<unk>", "\n", "."}));
}

TEST(Tokenizer, WordBuildNeedsRoomForUnkAndOneWord) {
  for (int max_vocab : {1, 0, -5}) {
    expect_error([&] { Tokenizer::build(kWord, "a b", max_vocab); }, "at least 2");
  }
}

TEST(Tokenizer, WordPiecesSpaceTokensLikeProse) {
  const Tokenizer tokenizer = Tokenizer::from_vocab(
      kWord, {"<unk>", "the", "cat", ",", "sat", ".", "\n", "(", "really", ")", "'", "s", "%", "!"});
  const auto id = [&](const std::string& token) {
    const std::vector<int> ids = tokenizer.encode(token, UnknownPolicy::error);
    EXPECT_EQ(ids.size(), 1u) << token;
    return ids.at(0);
  };
  EXPECT_EQ(tokenizer.piece(-1, id("the")), "the");
  EXPECT_EQ(tokenizer.piece(id("the"), id("cat")), " cat");
  EXPECT_EQ(tokenizer.piece(id("cat"), id(",")), ",");
  EXPECT_EQ(tokenizer.piece(id("\n"), id("the")), "the");
  EXPECT_EQ(tokenizer.piece(id("("), id("really")), "really");
  EXPECT_EQ(tokenizer.piece(id("the"), id("\n")), "\n");
  EXPECT_EQ(tokenizer.decode({id("the"), id("cat"), id(","), id("sat"), id(".")}), "the cat, sat.");

  // Text written the way decode spaces it comes back unchanged.
  const std::string prose = "the cat, sat (really)!\nthe cat' s%.\n\n(the) cat";
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(prose, UnknownPolicy::error)), prose);
}

TEST(Tokenizer, CharPiecesAreTheTokensThemselves) {
  const Tokenizer tokenizer = Tokenizer::build(kChar, "a b.", 0);  // " ", ".", "a", "b"
  EXPECT_EQ(tokenizer.piece(2, 3), "b");
  EXPECT_EQ(tokenizer.decode(tokenizer.encode("b.a a", UnknownPolicy::error)), "b.a a");
}

TEST(Tokenizer, RejectsOutOfRangeIds) {
  const Tokenizer tokenizer = Tokenizer::build(kWord, "a b c", 10);
  expect_error([&] { tokenizer.decode({1, 99}); }, "token id 99 is out of range");
  EXPECT_THROW(tokenizer.decode({-1}), Error);
  EXPECT_THROW(tokenizer.decode({tokenizer.size()}), Error);
  EXPECT_THROW(tokenizer.piece(-2, 0), Error);
  EXPECT_THROW(tokenizer.piece(tokenizer.size(), 0), Error);
}

TEST(Tokenizer, CharUnknownPolicies) {
  const Tokenizer tokenizer = Tokenizer::build(kChar, "abc", 0);
  const auto encode_unknown = [&] { tokenizer.encode("abé", UnknownPolicy::error); };
  expect_error(encode_unknown, "token \"é\" (U+00E9) at byte 2 is not in the vocabulary");
  expect_error(encode_unknown, "--unknown skip");
  EXPECT_EQ(tokenizer.encode("aébc", UnknownPolicy::skip), (std::vector<int>{0, 1, 2}));
  // The char vocabulary has no <unk>: refused even for text with nothing unknown.
  expect_error([&] { tokenizer.encode("abc", UnknownPolicy::unk); }, "no <unk>");
  // Control characters are shown escaped.
  expect_error([&] { tokenizer.encode("a\n", UnknownPolicy::error); }, "\"\\n\" (U+000A) at byte 1");
}

TEST(Tokenizer, WordUnknownPolicies) {
  const Tokenizer tokenizer = Tokenizer::build(kWord, "the cat sat", 10);
  const std::vector<int> the_sat = tokenizer.encode("the sat", UnknownPolicy::error);
  const auto encode_unknown = [&] { tokenizer.encode("the dog sat", UnknownPolicy::error); };
  expect_error(encode_unknown, "token \"dog\" at byte 4 is not in the vocabulary");
  expect_error(encode_unknown, "--unknown unk");
  EXPECT_EQ(tokenizer.encode("the dog sat", UnknownPolicy::skip), the_sat);
  EXPECT_EQ(tokenizer.encode("the dog sat", UnknownPolicy::unk), (std::vector<int>{the_sat[0], 0, the_sat[1]}));
  // "<unk>" typed in the text is punctuation and a word, not the unknown token.
  EXPECT_EQ(tokenizer.encode("<unk>", UnknownPolicy::skip), std::vector<int>{});

  const Tokenizer without_unk = Tokenizer::from_vocab(kWord, {"the", "cat"});
  expect_error([&] { without_unk.encode("the", UnknownPolicy::unk); }, "no <unk>");
}

TEST(Tokenizer, EncodeRejectsInvalidUtf8NamingTheByte) {
  for (TokenizerKind kind : {kChar, kWord}) {
    const Tokenizer tokenizer = Tokenizer::build(kind, "ab", 10);
    expect_error([&] { tokenizer.encode("ab\xFF", UnknownPolicy::skip); }, "invalid UTF-8 at byte 2");
  }
}

TEST(Tokenizer, FromVocabKeepsIdsAndRejectsBadVocabularies) {
  const Tokenizer tokenizer = Tokenizer::from_vocab(kChar, {"z", "深", "a"});
  EXPECT_EQ(tokenizer.kind(), kChar);
  EXPECT_EQ(tokenizer.encode("a深z", UnknownPolicy::error), (std::vector<int>{2, 1, 0}));

  for (TokenizerKind kind : {kChar, kWord}) {
    expect_error([&] { Tokenizer::from_vocab(kind, {}); }, "the vocabulary is empty");
  }
  expect_error(
      [] {
        Tokenizer::from_vocab(kWord, {"<unk>", "cat", "dog", "cat"});
      },
      "token \"cat\" twice (ids 1 and 3)");
  expect_error([] { Tokenizer::from_vocab(kChar, {"a", "ab"}); }, "token 1 \"ab\" is not exactly one character");
  // "é" as "e" and a combining accent is two code points.
  expect_error([] { Tokenizer::from_vocab(kChar, {"a", "e\u0301"}); }, "not exactly one character");
  expect_error([] { Tokenizer::from_vocab(kChar, {"a", ""}); }, "token 1 is empty");
  expect_error([] { Tokenizer::from_vocab(kWord, {"<unk>", "a", ""}); }, "token 2 is empty");
  expect_error(
      [] {
        Tokenizer::from_vocab(kWord, {"ok", "\xC3"});
      },
      "token 1 is not valid UTF-8 (invalid UTF-8 at byte 0");
}

TEST(Tokenizer, ParsesUnknownPolicies) {
  EXPECT_EQ(parse_unknown_policy("error"), UnknownPolicy::error);
  EXPECT_EQ(parse_unknown_policy("skip"), UnknownPolicy::skip);
  EXPECT_EQ(parse_unknown_policy("unk"), UnknownPolicy::unk);
  expect_error([] { parse_unknown_policy("ignore"); }, "expected error, skip or unk");
}

TEST(Tokenizer, RandomMixedTextRoundTripsAtCharLevel) {
  std::mt19937 rng(static_cast<unsigned>(testing::random_engine()()));  // the test's seed
  const Tokens alphabet = {"a", "Z", "0",  " ",  "\n", "\t", ",", "'",      "é",
                           "ß", "ñ", "深", "度", "学", "😀",  "🎉", "\u00A0", "\u3000"};
  std::string all;
  for (const std::string& c : alphabet) all += c;
  const Tokenizer tokenizer = Tokenizer::build(kChar, all, 0);
  ASSERT_EQ(tokenizer.size(), static_cast<int>(alphabet.size()));

  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const std::size_t length = rng() % 60;
    for (std::size_t i = 0; i < length; ++i) text += alphabet[pick(rng)];
    const std::vector<int> ids = tokenizer.encode(text, UnknownPolicy::error);
    ASSERT_EQ(ids.size(), length);
    ASSERT_EQ(tokenizer.decode(ids), text);
  }
}

}  // namespace
}  // namespace genrnn
