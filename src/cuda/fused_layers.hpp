#pragma once
// The recurrent layers on our own kernels: the shared layer driver (src/engine/layer_driver.hpp),
// the same algorithm as the CPU engine, over the device backend.
#include "cuda/device_backend.hpp"
#include "cuda/recurrent_layers.hpp"
#include "engine/layer_driver.hpp"
#include "genrnn/config.hpp"
#include "genrnn/parameters.hpp"

namespace genrnn::cuda {

class FusedLayers final : public RecurrentLayers {
 public:
  // Layers first .. first + count - 1 of the model; their weight space is their rnn.* tensors,
  // contiguous in PyTorch's layout and order.
  FusedLayers(const DeviceContext& context, const ModelConfig& config, int first, int count);

  std::size_t weight_floats() const override { return weight_floats_; }
  std::vector<ParameterSegment> weight_segments(const float*) const override {
    return {{torch_offset_, 0, weight_floats_}};
  }
  void forward(int batch, int seq_len, const LayerInput& input, const float* weights, const float* h0, const float* c0,
               float* hT, float* cT, bool training, const math::DropoutMask& dropout) override {
    driver_.forward(batch, seq_len, input, weights, h0, c0, hT, cT, training, dropout);
  }
  const float* outputs() const override { return driver_.outputs(); }
  void backward(const LayerInput& input, const float* weights, const float* d_outputs, float* weight_gradients,
                float* d_input) override {
    driver_.backward(input, weights, d_outputs, weight_gradients, d_input);
  }

 private:
  FusedLayers(const DeviceContext& context, const ModelConfig& config, const ParameterOffsets& offsets, int first,
              int count);

  DeviceBackend backend_;
  std::size_t torch_offset_, weight_floats_;
  LayerDriver<DeviceBackend> driver_;
};

}  // namespace genrnn::cuda
