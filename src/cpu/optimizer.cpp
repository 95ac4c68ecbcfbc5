#include "cpu/optimizer.hpp"

#include <cmath>

#include "core/memory_size.hpp"
#include "kernels/optimizer_math.cuh"

namespace genrnn::cpu {

double global_norm(const std::vector<float>& gradients) {
  double sum = 0;
  for (float g : gradients) sum += static_cast<double>(g) * g;
  return std::sqrt(sum);
}

void clip_gradients(std::vector<float>& gradients, float max_norm) {
  if (max_norm <= 0) return;
  const double coefficient = max_norm / (global_norm(gradients) + 1e-6);
  if (coefficient >= 1) return;
  for (float& g : gradients) g = static_cast<float>(g * coefficient);
}

void apply_optimizer(std::vector<float>& parameters, const std::vector<float>& gradients, OptimizerState& state,
                     const TrainStepOptions& options) {
  ++state.step;
  const std::size_t n = parameters.size();
  if (options.optimizer == Optimizer::sgd) {
    for (std::size_t i = 0; i < n; ++i) math::sgd_update(parameters[i], gradients[i], options.learning_rate);
    return;
  }
  if (state.m.empty()) state.m = host_vector<float>(n, "Adam's first moments");
  if (state.v.empty()) state.v = host_vector<float>(n, "Adam's second moments");
  state.m.resize(n, 0.0f);
  state.v.resize(n, 0.0f);
  const math::AdamHyper hyper = math::adam_hyper(options.learning_rate, state.step);
  for (std::size_t i = 0; i < n; ++i) math::adam_update(parameters[i], gradients[i], state.m[i], state.v[i], hyper);
}

}  // namespace genrnn::cpu
