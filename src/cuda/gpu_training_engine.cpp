#include "cuda/gpu_training_engine.hpp"

#include "core/nvtx_range.hpp"
#include "cuda/row_major_gemm.hpp"
#include "kernels/ops.hpp"

namespace genrnn::cuda {

GpuTrainingEngine::GpuTrainingEngine(const std::string& name, const ModelConfig& config, GpuLayers layers,
                                     const EngineOptions& options)
    : GpuRole(name, config, layers, options),
      gradients_(model_.device_floats(), model_.context().stream()),
      adam_m_(model_.context().stream()),
      adam_v_(model_.context().stream()),
      clip_scratch_(kernels::clip_scratch_floats(model_.device_floats()), model_.context().stream()),
      column_scratch_(model_.context().stream()),
      logits_(model_.context().stream()),
      row_losses_(model_.context().stream()),
      d_outputs_(model_.context().stream()),
      d_embedded_(model_.context().stream()),
      loss_sum_(1, model_.context().stream()) {
  staged_loss_.reserve(1);
}

void GpuTrainingEngine::forward(const TokenWindow& window, bool training, const math::DropoutMask& dropout) {
  const cudaStream_t stream = model_.context().stream();
  // Everything accumulates into the gradients, the padding between tensors included (kept 0).
  if (training)
    GENRNN_CUDA_CHECK(cudaMemsetAsync(gradients_.data(), 0, model_.device_floats() * sizeof(float), stream));
  model_.upload_window(window.inputs, &window.targets, window.seq_len);
  model_.forward(model_.ids(), window.seq_len, training, dropout);
}

void GpuTrainingEngine::head_and_loss(float gradient_scale) {
  const cudaStream_t stream = model_.context().stream();
  const int rows = static_cast<int>(model_.rows()), V = config().vocab_size, H = config().hidden_size;
  const float* outputs = model_.layers().outputs();
  logits_.reserve(model_.rows() * V);
  row_losses_.reserve(model_.rows());
  model_.head(outputs, rows, logits_.data(), false);  // the bias goes in with the loss
  kernels::softmax_cross_entropy(logits_.data(), model_.head_bias(model_.parameters()), model_.targets(), rows, V,
                                 gradient_scale, row_losses_.data(), stream);
  if (gradient_scale == 0) return;
  // logits_ now holds d loss / d logits.
  const cublasHandle_t cublas = model_.context().cublas();
  gemm_row_major(cublas, true, false, V, H, rows, 1.0f, logits_.data(), V, outputs, H, 0.0f,
                 model_.head_weight(gradients_.data()), H);
  column_scratch_.reserve(kernels::column_sums_scratch_floats(rows, V));
  kernels::add_column_sums(logits_.data(), rows, V, model_.head_bias(gradients_.data()), column_scratch_.data(),
                           stream);
  d_outputs_.reserve(model_.rows() * H);
  gemm_row_major(cublas, false, false, rows, H, V, 1.0f, logits_.data(), V, model_.head_weight(model_.parameters()), H,
                 0.0f, d_outputs_.data(), H);
}

void GpuTrainingEngine::backward() {
  const int E = config().embedding_dim;
  if (E > 0) d_embedded_.reserve(model_.rows() * E);
  model_.layers().backward(model_.layer_input(model_.ids()), model_.parameters(), d_outputs_.data(), gradients_.data(),
                           E > 0 ? d_embedded_.data() : nullptr);
  if (E > 0)
    kernels::embedding_scatter_add(d_embedded_.data(), model_.ids(), static_cast<int>(model_.rows()), E,
                                   model_.embedding(gradients_.data()), model_.context().stream());
}

double GpuTrainingEngine::read_loss_sum() {
  const cudaStream_t stream = model_.context().stream();
  kernels::sum(row_losses_.data(), static_cast<int>(model_.rows()), loss_sum_.data(), stream);
  GENRNN_CUDA_CHECK(
      cudaMemcpyAsync(staged_loss_.data(), loss_sum_.data(), sizeof(double), cudaMemcpyDeviceToHost, stream));
  model_.context().synchronize();
  return *staged_loss_.data();
}

double GpuTrainingEngine::run_gradients(const TokenWindow& window, std::vector<float>& gradients) {
  const double tokens = static_cast<double>(window.batch) * window.seq_len;
  forward(window, true, {});
  head_and_loss(static_cast<float>(1.0 / tokens));
  backward();
  model_.advance_state();
  gradients = model_.download(gradients_.data());
  return read_loss_sum() / tokens;
}

void GpuTrainingEngine::run_backward(const TokenWindow& window, const TrainStepOptions& options) {
  step_tokens_ = static_cast<double>(window.batch) * window.seq_len;
  {
    NvtxRange range("forward");
    forward(window, true, options.dropout_mask(optimizer_step_, config().hidden_size));
    head_and_loss(static_cast<float>(1.0 / step_tokens_));
  }
  {
    NvtxRange range("backward");
    backward();
  }
  model_.advance_state();
}

GradientBuffer GpuTrainingEngine::gradient_buffer() {
  return {gradients_.data(), model_.device_floats(), gpu(), model_.context().stream()};
}

void GpuTrainingEngine::run_update(const TrainStepOptions& options) {
  NvtxRange range("optimizer");
  const cudaStream_t stream = model_.context().stream();
  const std::size_t n = model_.device_floats();
  kernels::clip_global_norm(gradients_.data(), n, options.clip, clip_scratch_.data(), nullptr, stream);
  ++optimizer_step_;
  if (options.optimizer == Optimizer::sgd) {
    kernels::sgd_step(model_.parameters(), gradients_.data(), n, options.learning_rate, stream);
    return;
  }
  if (!has_moments_) {  // Adam's moments start at zero
    adam_m_.reserve(n);
    adam_v_.reserve(n);
    GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_m_.data(), 0, n * sizeof(float), stream));
    GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_v_.data(), 0, n * sizeof(float), stream));
    has_moments_ = true;
  }
  kernels::adam_step(model_.parameters(), gradients_.data(), adam_m_.data(), adam_v_.data(), n,
                     math::adam_hyper(options.learning_rate, optimizer_step_), stream);
}

double GpuTrainingEngine::run_eval_window(const TokenWindow& window) {
  NvtxRange range("eval");
  forward(window, false, {});
  head_and_loss(0.0f);
  model_.advance_state();
  return read_loss_sum();
}

OptimizerState GpuTrainingEngine::read_optimizer_state() const {
  OptimizerState state{optimizer_step_, {}, {}};
  if (has_moments_) {
    state.m = model_.download(adam_m_.data());
    state.v = model_.download(adam_v_.data());
  }
  return state;
}

void GpuTrainingEngine::write_optimizer_state(const OptimizerState& state) {
  optimizer_step_ = state.step;
  has_moments_ = !state.m.empty();
  if (!has_moments_) return;
  const std::size_t n = model_.device_floats();
  const cudaStream_t stream = model_.context().stream();
  adam_m_.reserve(n);
  adam_v_.reserve(n);
  // Zeros first: the device layout has padding between tensors that no segment covers.
  GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_m_.data(), 0, n * sizeof(float), stream));
  GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_v_.data(), 0, n * sizeof(float), stream));
  model_.upload(state.m, adam_m_.data());
  model_.upload(state.v, adam_v_.data());
}

}  // namespace genrnn::cuda
