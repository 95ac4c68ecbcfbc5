#pragma once
// DecodingEngine::prefill_slots checked against a reference engine that runs each slot's prompt
// alone: the slots' logits and states, from a zero state (fresh) or from the slot's own, and
// the other slots' states untouched.
#include <vector>

#include "engine/engine.hpp"
#include "engine/state_rows.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn::testing {

struct SlotPrefillErrors {
  double logits = 0, states = 0;  // max relative errors against the reference
  bool others_kept = false;       // the slots not prefilled hold exactly the state they had
};

inline SlotPrefillErrors check_slot_prefill(DecodingEngine& engine, DecodingEngine& reference, bool fresh) {
  const ModelConfig& config = engine.config();
  const int batch = 5, layers = config.num_layers, width = config.hidden_size, V = config.vocab_size;
  const std::size_t n = static_cast<std::size_t>(layers) * batch * width;
  const bool has_c = describe_cell(config.cell).has_cell_state;
  const RecurrentState start{batch, random_uniform<float>(n, -0.5f, 0.5f),
                             has_c ? random_uniform<float>(n, -0.5f, 0.5f) : std::vector<float>{}};
  engine.set_state(start);
  const std::vector<int> slots = {3, 0, 4}, others = {1, 2};
  const std::vector<std::vector<int>> prompts = {random_ids(4, V), random_ids(1, V), random_ids(4, V)};
  std::vector<float> logits;
  engine.prefill_slots(slots, prompts, fresh, logits);
  const RecurrentState after = engine.state();

  SlotPrefillErrors errors;
  for (std::size_t k = 0; k < slots.size(); ++k) {
    reference.set_state(fresh ? RecurrentState{1, {}, {}} : rows_of(start, {slots[k]}, layers, width));
    std::vector<float> alone;
    reference.prefill(prompts[k], alone);
    const std::vector<float> row(logits.begin() + static_cast<std::ptrdiff_t>(k * V),
                                 logits.begin() + static_cast<std::ptrdiff_t>((k + 1) * V));
    errors.logits = std::max(errors.logits, max_relative_error(row, alone));
    const RecurrentState expected = reference.state(), got = rows_of(after, {slots[k]}, layers, width);
    errors.states =
        std::max({errors.states, max_relative_error(got.h, expected.h), max_relative_error(got.c, expected.c)});
  }
  const RecurrentState kept = rows_of(after, others, layers, width), before = rows_of(start, others, layers, width);
  errors.others_kept = kept.h == before.h && kept.c == before.c;
  return errors;
}

}  // namespace genrnn::testing
