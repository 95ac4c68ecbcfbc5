#pragma once
// The CUDA engines: embedding (or one-hot input), the recurrent layers (cuDNN's RNN for
// "cudnn", our fused cell kernels for "fused"), the cuBLAS head, fused softmax cross-entropy,
// global-norm clipping and Adam, all queued on one stream. A training step synchronizes only
// when its loss is read.
#include <memory>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "cuda/recurrent_layers.hpp"
#include "engine/engine.hpp"
#include "kernels/sampling_ops.hpp"

namespace genrnn::cuda {

class GpuEngine final : public Engine {
 public:
  // `layers`: "cudnn" or "fused".
  GpuEngine(const ModelConfig& config, const std::string& layers, bool tf32);

  std::string name() const override { return layers_->engine_name(); }
  void set_parameters(const std::vector<float>& flat) override;
  std::vector<float> parameters() const override;
  void set_state(const RecurrentState& state) override;
  RecurrentState state() const override;
  double compute_gradients(const TokenWindow& window, std::vector<float>& gradients) override;
  std::optional<double> train_step(const TokenWindow& window, const TrainStepOptions& options) override;
  OptimizerState optimizer_state() const override;
  void set_optimizer_state(const OptimizerState& state) override;
  double eval_window(const TokenWindow& window) override;
  void prefill(const std::vector<int>& prompts, int batch, std::vector<float>& logits) override;
  void step(const std::vector<int>& ids, std::vector<float>& logits) override;
  void decode(const std::vector<float>& logits, int length, const SamplingOptions& sampling,
              const std::vector<DrawKey>& keys, const TokenChunkCallback& on_tokens) override;
  void load_logits(const std::vector<float>& logits, int streams) override;
  void draw_tokens(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) override;
  double time_seconds(const std::function<void()>& work) override;

 private:
  // Device layout of the parameters: [cuDNN weight space | embedding | head.weight | head.bias].
  float* embedding(float* base) const { return base + embedding_offset_; }
  float* head_weight(float* base) const { return base + head_weight_offset_; }
  float* head_bias(float* base) const { return base + head_bias_offset_; }
  std::size_t state_size() const;
  // Copies a flat PyTorch-layout buffer into a device-layout one, and back.
  void upload_torch_layout(const std::vector<float>& flat, float* device) const;
  std::vector<float> download_torch_layout(const float* device) const;
  // Checks the window's ids and uploads them into ids_ and targets_ (prefill has no targets).
  void upload_window(const std::vector<int>& inputs, const std::vector<int>& targets, int batch, int seq_len,
                     bool with_targets);
  // Runs the layers over `ids` (device, batch_ x seq_len_); y_ holds the outputs, the next state
  // waits in the other half of the state buffers.
  void forward(const int* ids, bool training);
  // logits_ = the head over the last position of every stream in y_, bias included.
  void last_position_logits();
  // One decode step on the device: the ids in step_ids_ through the layers and the head, the
  // next ids drawn into step_ids_, the draw counters advanced.
  void decode_step(const kernels::SamplingParams& params);
  // The sampler over logits_ into step_ids_, then the draw counters advanced.
  void draw_next_tokens(const kernels::SamplingParams& params);
  // Captures decode_step as a CUDA graph; false (and nothing captured) where that fails.
  bool capture_decode_step(const kernels::SamplingParams& params, cudaGraphExec_t& replay);
  // Uploads the Philox keys of `streams` streams for `positions` positions:
  // sampling_keys_ = [seeds | stream ids | steps [position][stream]], steps from first_position.
  void upload_draw_keys(const std::vector<DrawKey>& keys, std::size_t positions, uint64_t first_position);
  // Head, loss and (when gradient_scale != 0) backward into gradients_; row losses stay on
  // the device.
  void head_and_loss(float gradient_scale);
  void backward_layers();
  double read_loss_sum();
  void advance_state() { current_state_ ^= 1; }

  ModelConfig config_;
  DeviceContext context_;
  std::unique_ptr<RecurrentLayers> layers_;
  std::size_t embedding_offset_ = 0, head_weight_offset_ = 0, head_bias_offset_ = 0, device_floats_ = 0;
  std::vector<ParameterSegment> segments_;  // PyTorch layout <-> device layout
  DeviceBuffer<float> params_, gradients_, adam_m_, adam_v_, clip_scratch_;
  int64_t optimizer_step_ = 0;
  bool has_moments_ = false;  // Adam's m and v exist (SGD runs never create them)

  int state_batch_ = 0;
  int current_state_ = 0;
  DeviceBuffer<float> h_[2], c_[2];  // [layers][batch][H]; one half in, the other out

  int batch_ = 0, seq_len_ = 0;
  DeviceBuffer<int> ids_, targets_;
  DeviceBuffer<float> x_, y_, dx_, dy_, logits_, row_losses_;
  DeviceBuffer<double> loss_sum_;
  UploadStage<int> id_stage_;
  // Decoding: the drawn ids [position][stream], Philox keys (seeds, stream ids, steps), the
  // sampler's scratch, and the pinned copy the host reads in chunks.
  DeviceBuffer<int> decoded_, step_ids_;
  DeviceBuffer<uint64_t> sampling_keys_;
  DeviceBuffer<unsigned char> sampling_scratch_;
  PinnedBuffer<int> decoded_host_;
  int loaded_streams_ = 0, loaded_vocab_ = 0;  // load_logits
  PinnedBuffer<double> staged_loss_;
};

}  // namespace genrnn::cuda
