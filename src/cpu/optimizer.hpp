#pragma once
#include <vector>

#include "engine/engine.hpp"

namespace genrnn::cpu {

// The L2 norm of all gradients together, accumulated in double.
double global_norm(const std::vector<float>& gradients);
// Scales the gradients so their global norm is at most max_norm, as torch.nn.utils.clip_grad_norm_.
void clip_gradients(std::vector<float>& gradients, float max_norm);
// One Adam or SGD step over the flat buffers; Adam's moments are created on first use.
void apply_optimizer(std::vector<float>& parameters, const std::vector<float>& gradients, OptimizerState& state,
                     const TrainStepOptions& options);

}  // namespace genrnn::cpu
