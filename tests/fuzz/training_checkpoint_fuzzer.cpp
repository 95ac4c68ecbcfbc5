// The optimizer-state file that --resume reads ("<checkpoint>.optim"), against the fixture
// model lstm_l1_e5 whose weights the seed was written for: either genrnn::Error or a state of
// the shapes the model and the recorded batch need.
#include <cstdint>

#include "api/training_checkpoint.hpp"
#include "genrnn/error.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace genrnn;
  static const Model model = Model::load(GENRNN_FIXTURES_DIR "/lstm_l1_e5.safetensors");
  TrainingCheckpoint checkpoint;
  try {
    checkpoint = read_training_checkpoint(fuzz::input_file(data, size, "input.optim"), model);
  } catch (const Error&) {
    return 0;
  }
  const std::size_t state_size = std::size_t(model.config.num_layers) * checkpoint.batch * model.config.hidden_size;
  fuzz::require(checkpoint.batch >= 1 && checkpoint.seq_len >= 1 && checkpoint.step >= 0, "counts are positive");
  fuzz::require(checkpoint.state.batch == checkpoint.batch && checkpoint.state.h.size() == state_size &&
                    checkpoint.state.c.size() == state_size,
                "the state has layers x batch x hidden values, h and c");
  fuzz::require(checkpoint.optimizer.m.size() == checkpoint.optimizer.v.size() &&
                    (checkpoint.optimizer.m.empty() || checkpoint.optimizer.m.size() == model.parameters.size()),
                "the Adam moments are both absent or both one per parameter");
  return 0;
}
