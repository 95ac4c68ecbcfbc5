// The stop automata a beam search takes to the device (src/api/stop_automaton.cpp, read by
// kernels/stop_automaton.cuh) against the text itself: on random token sequences of character
// and word vocabularies, the automaton first reaches its end at the token where the decoded
// text first contains the stop text. And the CPU engine, which has no device, refuses the call
// that takes them.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "api/stop_automaton.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"
#include "kernels/stop_automaton.cuh"
#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

// The index of the token at which `stop` first appears in the text of `ids` after `previous`;
// -1 when it does not.
int first_stop_by_text(const Tokenizer& tokenizer, int previous, const std::vector<int>& ids, const std::string& stop) {
  std::string text;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    text += tokenizer.piece(previous, ids[k]);
    previous = ids[k];
    if (text.find(stop) != std::string::npos) return static_cast<int>(k);
  }
  return -1;
}

int first_stop_by_automaton(const Tokenizer& tokenizer, int previous, const std::vector<int>& ids,
                            const std::string& stop) {
  const StopTable table = stop_table(tokenizer, stop);
  const std::vector<uint8_t> flags = token_flags(tokenizer);
  const math::StopAutomaton automaton{table.length, tokenizer.size(), table.transitions.data(),
                                      table.after_space.data(), flags.data()};
  int state = 0;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    state = automaton.next(state, previous, ids[k]);
    previous = ids[k];
    if (state == table.length) return static_cast<int>(k);
  }
  return -1;
}

// Stop texts cut from the sequence's own text (so that most are met), and some of a few random
// characters.
void expect_automata_match(const Tokenizer& tokenizer, int sequences) {
  std::mt19937_64& random = testing::random_engine();
  int met = 0;
  for (int n = 0; n < sequences; ++n) {
    const auto ids = testing::random_ids(12, tokenizer.size());
    const int previous = testing::random_ids(1, tokenizer.size())[0];
    std::string text;
    for (std::size_t k = 0, before = previous; k < ids.size(); before = ids[k++])
      text += tokenizer.piece(static_cast<int>(before), ids[k]);
    std::uniform_int_distribution<std::size_t> at(0, text.size() - 1), length(1, 6);
    std::string stop = text.substr(at(random), length(random));
    if (n % 4 == 0) stop = std::string(length(random) % 3 + 1, " ab,."[at(random) % 5]);
    const int expected = first_stop_by_text(tokenizer, previous, ids, stop);
    EXPECT_EQ(first_stop_by_automaton(tokenizer, previous, ids, stop), expected)
        << "stop '" << stop << "' in '" << text << "'";
    met += expected >= 0;
  }
  EXPECT_GT(met, sequences / 2);
}

TEST(StopAutomaton, FirstReachesItsEndWhereTheTextFirstHoldsTheStop) {
  expect_automata_match(Tokenizer::build(TokenizerKind::character, "abcab, a.b\n\xc3\xa9", 0), 300);
  // Words joined with a space or not ("(", "\n" open; ",", ".", ")" close), including the
  // stop texts that span the space.
  expect_automata_match(
      Tokenizer::from_vocab(TokenizerKind::word, {"<unk>", "ab", "ba", "a", ",", ".", "(", ")", "\n", "abab"}), 300);
}

TEST(StopAutomaton, TheCpuEngineRefusesToSearchOnADeviceItDoesNotHave) {
  const ModelConfig config{CellType::lstm, 1, 4, 0, 5, TokenizerKind::character};
  auto engine = make_decoding_engine("cpu", config);
  EXPECT_FALSE(engine->searches_beams());
  BeamPlan plan;
  plan.requests = {{2, 1, 3, -1, 0}};
  plan.token_flags.assign(5, 0);
  plan.first_logits.assign(5, 0.0f);
  EXPECT_THROW(engine->search_beams(plan), Error);
}

}  // namespace
}  // namespace genrnn
