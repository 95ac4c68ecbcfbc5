#pragma once
// Training on the GPU: the model's forward, the cuBLAS head and our fused softmax
// cross-entropy, the layers' backward, global-norm clipping and Adam or SGD, all queued on one
// stream. A training step synchronizes only when its loss is read.
#include "cuda/gpu_model.hpp"
#include "engine/engine.hpp"

namespace genrnn::cuda {

class GpuTrainingEngine final : public GpuRole<TrainingEngine> {
 public:
  GpuTrainingEngine(const std::string& name, const ModelConfig& config, GpuLayers layers, const EngineOptions& options);

 protected:
  void run_backward(const TokenWindow& window, const TrainStepOptions& options) override;
  GradientBuffer gradient_buffer() override;
  void run_update(const TrainStepOptions& options) override;
  double read_step_loss() override { return read_loss_sum() / step_tokens_; }
  double run_eval_window(const TokenWindow& window) override;
  double run_gradients(const TokenWindow& window, std::vector<float>& gradients) override;
  OptimizerState read_optimizer_state() const override;
  void write_optimizer_state(const OptimizerState& state) override;

 private:
  // Zeroed gradients, the window up, and the forward; the state is advanced after backward.
  void forward(const TokenWindow& window, bool training, const math::DropoutMask& dropout);
  // The head and the loss; when gradient_scale != 0, also the head's gradients and d_outputs_.
  // Row losses stay on the device.
  void head_and_loss(float gradient_scale);
  // The layers' and the embedding's gradients, from d_outputs_.
  void backward();
  // The sum of the last window's row losses, read back from the device (it waits for the stream).
  double read_loss_sum();

  DeviceBuffer<float> gradients_, adam_m_, adam_v_, clip_scratch_, column_scratch_;
  int64_t optimizer_step_ = 0;
  double step_tokens_ = 1;    // of the last run_backward's window
  bool has_moments_ = false;  // Adam's m and v exist (SGD runs never create them)
  DeviceBuffer<float> logits_, row_losses_, d_outputs_, d_embedded_;
  DeviceBuffer<double> loss_sum_;
  PinnedBuffer<double> staged_loss_;
};

}  // namespace genrnn::cuda
