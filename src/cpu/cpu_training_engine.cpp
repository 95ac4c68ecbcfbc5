#include "cpu/cpu_engines.hpp"
#include "cpu/optimizer.hpp"

namespace genrnn::cpu {

double CpuTrainingEngine::forward_backward(const TokenWindow& window, const math::DropoutMask& dropout) {
  network_.forward(window.inputs.data(), window.batch, window.seq_len, dropout);
  const double tokens = static_cast<double>(window.batch) * window.seq_len;
  const double loss = network_.loss(window.targets.data()) / tokens;
  network_.backward(window.targets.data(), static_cast<float>(1.0 / tokens));
  return loss;
}

double CpuTrainingEngine::run_gradients(const TokenWindow& window, std::vector<float>& gradients) {
  const double loss = forward_backward(window, {});
  gradients = network_.gradients();
  return loss;
}

std::optional<double> CpuTrainingEngine::run_train_step(const TokenWindow& window, const TrainStepOptions& options) {
  const double loss =
      forward_backward(window, {options.dropout, options.dropout_seed, static_cast<uint64_t>(optimizer_.step)});
  clip_gradients(network_.gradients(), options.clip);
  apply_optimizer(network_.parameters(), network_.gradients(), optimizer_, options);
  return loss;
}

double CpuTrainingEngine::run_eval_window(const TokenWindow& window) {
  network_.forward(window.inputs.data(), window.batch, window.seq_len, {}, /*inference=*/true);
  return network_.loss(window.targets.data());
}

}  // namespace genrnn::cpu
