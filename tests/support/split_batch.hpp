#pragma once
// Data parallel in one thread: two engines each train half of a batch's streams, their
// gradients averaged between backward and the update as a run's processes average them, beside
// one engine that trains the whole batch. The first half's reducer runs the second half's step,
// whose reducer averages both buffers: both updates then see the same mean.
#include <functional>
#include <memory>
#include <vector>

#include "engine/engine.hpp"
#include "tests/support/numeric.hpp"

namespace genrnn::testing {

// Replaces both buffers by their mean.
using AverageTwo = std::function<void(const GradientBuffer& first, const GradientBuffer& second)>;
using MakeTrainer = std::function<std::unique_ptr<TrainingEngine>()>;

struct SplitBatchRun {
  std::vector<double> whole_losses, split_losses;     // per step; the split's is the halves' mean
  std::vector<float> whole, first_half, second_half;  // parameters at the end
};

inline SplitBatchRun train_whole_and_split(const MakeTrainer& make, int batch, int seq_len, int steps, float dropout,
                                           const AverageTwo& average) {
  const int half = batch / 2;
  std::unique_ptr<TrainingEngine> whole = make(), first = make(), second = make();
  const auto weights = random_uniform<float>(parameter_count(whole->config()), -0.3f, 0.3f);
  for (TrainingEngine* engine : {whole.get(), first.get(), second.get()}) engine->set_parameters(weights);
  whole->set_state({batch, {}, {}});
  first->set_state({half, {}, {}});
  second->set_state({half, {}, {}});

  struct CallsBack : GradientReducer {
    std::function<void(const GradientBuffer&)> then;
    void average(const GradientBuffer& mine) override { then(mine); }
  } first_reducer, second_reducer;

  SplitBatchRun run;
  // SGD: Adam divides each gradient by its own RMS, so a weight whose gradient is at rounding's
  // level would step a full step whichever way the halves' summation order rounds it.
  TrainStepOptions options;
  options.optimizer = Optimizer::sgd;
  options.learning_rate = 0.5f;
  options.dropout = dropout;
  options.dropout_seed = 77;
  const int vocab = whole->config().vocab_size;
  for (int step = 0; step < steps; ++step) {
    const auto n = static_cast<std::size_t>(batch) * seq_len, cut = static_cast<std::size_t>(half) * seq_len;
    const TokenWindow window{batch, seq_len, random_ids(n, vocab), random_ids(n, vocab)};
    const auto part = [&](std::size_t from, std::size_t to) {
      return TokenWindow{half,
                         seq_len,
                         {window.inputs.begin() + from, window.inputs.begin() + to},
                         {window.targets.begin() + from, window.targets.begin() + to}};
    };
    run.whole_losses.push_back(*whole->train_step(window, options));
    TrainStepOptions first_options = options, second_options = options;
    first_options.streams = {0, half, batch};
    second_options.streams = {half, half, batch};
    double second_loss = 0;
    first_reducer.then = [&](const GradientBuffer& first_gradients) {
      second_reducer.then = [&](const GradientBuffer& second_gradients) { average(first_gradients, second_gradients); };
      second_loss = *second->train_step(part(cut, n), second_options, &second_reducer);
    };
    const double first_loss = *first->train_step(part(0, cut), first_options, &first_reducer);
    run.split_losses.push_back((first_loss + second_loss) / 2);
  }
  run.whole = whole->parameters();
  run.first_half = first->parameters();
  run.second_half = second->parameters();
  return run;
}

}  // namespace genrnn::testing
