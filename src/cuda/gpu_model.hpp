#pragma once
// One model on the GPU, as both GPU roles (training, decoding) hold it: the device weights,
// the recurrent state, the embedding or one-hot input, the recurrent layers (cuDNN's or the
// fused driver) and the head, all queued on one stream. Rows are time-major, r = t * B + b:
// token ids are permuted into that order on their way up, so no step copies anything.
#include <memory>
#include <string>
#include <vector>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "cuda/recurrent_layers.hpp"
#include "engine/engine.hpp"
#include "engine/engine_factories.hpp"
#include "genrnn/config.hpp"
#include "genrnn/device.hpp"
#include "genrnn/state.hpp"

namespace genrnn::cuda {

class GpuModel {
 public:
  // On options.gpu, with options.tf32.
  GpuModel(const ModelConfig& config, GpuLayers layers, const EngineOptions& options);

  const DeviceContext& context() const { return context_; }
  const ModelConfig& config() const { return config_; }
  RecurrentLayers& layers() { return *layers_; }

  // The parameters' device layout: [the layers' weight space | embedding | head.weight |
  // head.bias], device_floats() in all, with padding no tensor covers.
  std::size_t device_floats() const { return device_floats_; }
  float* parameters() { return params_.data(); }
  const float* parameters() const { return params_.data(); }
  template <class T>
  T* embedding(T* base) const {
    return base + embedding_offset_;
  }
  template <class T>
  T* head_weight(T* base) const {
    return base + head_weight_offset_;
  }
  template <class T>
  T* head_bias(T* base) const {
    return base + head_bias_offset_;
  }
  // A flat PyTorch-layout buffer into a device-layout one, and back.
  void upload(const std::vector<float>& flat, float* device) const;
  std::vector<float> download(const float* device) const;

  // The state of batch() streams, complete (h, and c for a cell with one).
  void set_state(const RecurrentState& state);
  RecurrentState state() const;
  int batch() const { return batch_; }

  // Uploads batch() streams of `seq_len` ids (batch-first, [b * seq_len + t]), and as many
  // targets unless null, time-major; ids() and targets() then point at them on the device.
  void upload_window(const std::vector<int>& inputs, const std::vector<int>* targets, int seq_len);
  const int* ids() const { return tokens_.data(); }
  const int* targets() const { return tokens_.data() + rows(); }
  int seq_len() const { return seq_len_; }
  std::size_t rows() const { return static_cast<std::size_t>(batch_) * seq_len_; }

  // The embedding and the layers over `ids` (time-major, batch() x seq_len) from the current
  // state into the other half of the state buffers; advance_state() then makes it current.
  void forward(const int* ids, int seq_len, bool training, const math::DropoutMask& dropout);
  void advance_state() { current_state_ ^= 1; }
  int state_parity() const { return current_state_; }
  // Half `parity` of the state buffers ([layers][batch][H]; c null without a c state).
  float* state_h(int parity) { return h_[parity].data(); }
  float* state_c(int parity) { return has_c_ ? c_[parity].data() : nullptr; }
  // The layers' input of the last forward, for their backward.
  LayerInput layer_input(const int* ids) const;
  // logits ([n][V]) = rows ([n][H]) W^T, plus the bias when with_bias.
  void head(const float* rows, int n, float* logits, bool with_bias) const;

 private:
  std::size_t state_size() const { return static_cast<std::size_t>(config_.num_layers) * batch_ * config_.hidden_size; }

  ModelConfig config_;
  bool has_c_;
  DeviceContext context_;
  std::unique_ptr<RecurrentLayers> layers_;
  std::size_t embedding_offset_ = 0, head_weight_offset_ = 0, head_bias_offset_ = 0, device_floats_ = 0;
  std::vector<ParameterSegment> segments_;  // PyTorch layout <-> device layout
  DeviceBuffer<float> params_;
  int batch_ = 0, seq_len_ = 0;
  int current_state_ = 0;
  DeviceBuffer<float> h_[2], c_[2];  // [layers][batch][H]; one half in, the other out
  DeviceBuffer<int> tokens_;         // [ids | targets], each [t][b]
  UploadStage<int> token_stage_;
  DeviceBuffer<float> embedded_;  // [t][b][E]
};

// A role (TrainingEngine or DecodingEngine) over one GpuModel: weights and state live there.
template <class Role>
class GpuRole : public Role {
 protected:
  GpuRole(const std::string& name, const ModelConfig& config, GpuLayers layers, const EngineOptions& options)
      : Role(name, config), model_(config, layers, options) {}
  void write_parameters(const std::vector<float>& flat) override { model_.upload(flat, model_.parameters()); }
  std::vector<float> read_parameters() const override { return model_.download(model_.parameters()); }
  void write_state(const RecurrentState& state) override { model_.set_state(state); }
  RecurrentState read_state() const override { return model_.state(); }

 public:
  int gpu() const override { return model_.context().gpu(); }
  double time_seconds(const std::function<void()>& work) override { return model_.context().seconds(work); }

 protected:
  GpuModel model_;
};

}  // namespace genrnn::cuda
