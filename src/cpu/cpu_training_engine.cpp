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

void CpuTrainingEngine::run_backward(const TokenWindow& window, const TrainStepOptions& options) {
  step_loss_ = forward_backward(window, options.dropout_mask(optimizer_.step, config().hidden_size));
}

GradientBuffer CpuTrainingEngine::gradient_buffer() {
  return {network_.gradients().data(), network_.gradients().size()};
}

void CpuTrainingEngine::run_update(const TrainStepOptions& options) {
  clip_gradients(network_.gradients(), options.clip);
  apply_optimizer(network_.parameters(), network_.gradients(), optimizer_, options);
}

double CpuTrainingEngine::run_eval_window(const TokenWindow& window) {
  network_.forward(window.inputs.data(), window.batch, window.seq_len, {}, /*inference=*/true);
  return network_.loss(window.targets.data());
}

}  // namespace genrnn::cpu
