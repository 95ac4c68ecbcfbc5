#pragma once
// Per-parameter update rules, PyTorch's (torch.optim.Adam without weight decay, plain SGD),
// shared by the CPU engine and the fused CUDA optimizer kernel.
#include "kernels/host_device.cuh"

namespace genrnn::math {

struct AdamHyper {
  float learning_rate;
  float beta1, beta2, epsilon;
  float bias_correction1;  // 1 - beta1^t
  float bias_correction2;  // 1 - beta2^t
};

// PyTorch's defaults (betas 0.9, 0.999, eps 1e-8) at optimizer step `step` (1 for the first).
inline AdamHyper adam_hyper(float learning_rate, long long step) {
  AdamHyper h{learning_rate, 0.9f, 0.999f, 1e-8f, 0, 0};
  h.bias_correction1 = 1.0f - powf(h.beta1, static_cast<float>(step));
  h.bias_correction2 = 1.0f - powf(h.beta2, static_cast<float>(step));
  return h;
}

GENRNN_HD void adam_update(float& param, float grad, float& m, float& v, const AdamHyper& h) {
  m = h.beta1 * m + (1.0f - h.beta1) * grad;
  v = h.beta2 * v + (1.0f - h.beta2) * grad * grad;
  const float denom = sqrt_of(v) / sqrt_of(h.bias_correction2) + h.epsilon;
  param -= (h.learning_rate / h.bias_correction1) * m / denom;
}

GENRNN_HD void sgd_update(float& param, float grad, float learning_rate) { param -= learning_rate * grad; }

}  // namespace genrnn::math
