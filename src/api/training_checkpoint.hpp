#pragma once
#include <cstdint>
#include <string>

#include "engine/engine.hpp"
#include "genrnn/model.hpp"
#include "genrnn/state.hpp"

namespace genrnn {

// Where a training run stands, beside its checkpoint's weights (in "<checkpoint>.optim"): what
// `--resume` needs to continue exactly.
struct TrainingCheckpoint {
  int64_t step = 0;  // training steps done
  uint64_t seed = 0;
  int batch = 0;
  int seq_len = 0;
  OptimizerState optimizer;  // m and v empty for SGD
  RecurrentState state;      // the carried state, batch streams
};

// `model` is the weights saved beside it: the file records their fingerprint.
void write_training_checkpoint(const std::string& path, const TrainingCheckpoint& checkpoint, const Model& model);
// Validates the file against `model` (its weights' fingerprint, the tensors its shape needs);
// throws Error naming the file and the first problem.
TrainingCheckpoint read_training_checkpoint(const std::string& path, const Model& model);

}  // namespace genrnn
