#pragma once
// The recurrent layers on our own kernels, the same algorithm as the CPU engine: per layer one
// cuBLAS GEMM for the input projections of all steps, then per step one recurrent GEMM and one
// fused cell kernel; backward walks the steps in reverse with the fused backward cell, then one
// GEMM each for the weight gradients. Internally time-major, so every step's rows are dense.
#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "cuda/recurrent_layers.hpp"
#include "genrnn/config.hpp"

namespace genrnn::cuda {

class FusedRnn final : public RecurrentLayers {
 public:
  FusedRnn(const DeviceContext& context, const ModelConfig& config);

  const char* engine_name() const override { return "fused"; }
  std::size_t weight_floats() const override { return weight_floats_; }
  // The rnn.* tensors in PyTorch's layout and order, one after the other.
  std::vector<ParameterSegment> weight_segments(const float* weights) const override;
  // The CPU engine's masks (math::dropout_scale), so training matches it with dropout too.
  void set_dropout(float probability, uint64_t seed, uint64_t step) override;
  void configure(int batch, int seq_len) override;
  void forward(bool training, const float* x, float* y, const float* hx, float* hy, const float* cx, float* cy,
               const float* weights) override;
  void backward(const float* x, const float* y, const float* dy, float* dx, const float* hx, const float* cx,
                const float* weights, float* weight_gradients) override;

 private:
  struct LayerWeights {
    std::size_t w_ih, w_hh, b_ih, b_hh;  // offsets into the weight space
    int input;                           // width of the layer's input
  };
  std::size_t step_rows() const { return static_cast<std::size_t>(batch_); }
  std::size_t rows() const { return static_cast<std::size_t>(batch_) * seq_len_; }
  // [batch][time][width] <-> [time][batch][width].
  void transpose_batch_time(const float* from, float* to, int width, bool to_time_major) const;
  // The layer's input, time-major: the embedded tokens for layer 0, else the outputs below
  // (after dropout in a training forward).
  const float* layer_input(int layer) const;
  bool dropout_active() const { return training_ && dropout_.probability > 0 && config_.num_layers > 1; }

  const DeviceContext& context_;
  ModelConfig config_;
  int gate_width_;  // G * H
  std::vector<LayerWeights> layers_;
  std::size_t weight_floats_ = 0;
  std::size_t first_weight_offset_ = 0;  // of rnn.weight_ih_l0 in PyTorch's flat layout
  int batch_ = 0, seq_len_ = 0;
  bool training_ = false;  // of the last forward
  struct {
    float probability = 0;
    uint64_t seed = 0, step = 0;
  } dropout_;
  std::vector<DeviceBuffer<float>> dropped_;  // [layer][t][batch][H], layers 0 .. L-2
  DeviceBuffer<float> x_time_major_;
  std::vector<DeviceBuffer<float>> outputs_;  // [layer][t + 1][batch][H]; t = 0 is the initial h
  std::vector<DeviceBuffer<float>> cells_;    // [layer][t + 1][batch][H]; LSTM only
  std::vector<DeviceBuffer<float>> saved_;    // [layer][t][batch][4H]
  DeviceBuffer<float> gx_, gh_, dgx_, dgh_, dh_next_, dc_, dh_direct_, d_out_[2], dx_time_major_;
};

}  // namespace genrnn::cuda
