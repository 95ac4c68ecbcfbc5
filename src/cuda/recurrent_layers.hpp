#pragma once
// The recurrent part of a GPU engine: the L stacked layers between the input (embedding or
// one-hot) and the head. cuDNN's RNN and our fused kernels both implement it; everything
// around them (input, head, loss, clipping, optimizer, state) is shared (GpuEngine).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace genrnn::cuda {

// A run of parameters at one offset of PyTorch's flat layout and another of a device layout.
struct ParameterSegment {
  std::size_t torch_offset;
  std::size_t device_offset;
  std::size_t count;
};

class RecurrentLayers {
 public:
  virtual ~RecurrentLayers() = default;
  virtual const char* engine_name() const = 0;
  // Floats of the layers' weight space, and where each block of the rnn.* tensors of
  // parameter_layout(config) lies in a weight space at `weights` (offsets from it).
  virtual std::size_t weight_floats() const = 0;
  virtual std::vector<ParameterSegment> weight_segments(const float* weights) const = 0;
  // Dropout between layers in the training forwards of optimizer step `step`.
  virtual void set_dropout(float probability, uint64_t seed, uint64_t step) = 0;
  // Scratch for `batch` streams of `seq_len` steps (cached while unchanged).
  virtual void configure(int batch, int seq_len) = 0;
  // x: [batch][seq_len][input], y: [batch][seq_len][H], states [layers][batch][H]; cx, cy for
  // LSTM only. A training forward keeps what backward needs.
  virtual void forward(bool training, const float* x, float* y, const float* hx, float* hy, const float* cx,
                       float* cy, const float* weights) = 0;
  // After a training forward on the same data: dx from dy (zero gradient reaching the final
  // state: truncated BPTT), and the weight gradients added into weight_gradients.
  virtual void backward(const float* x, const float* y, const float* dy, float* dx, const float* hx,
                        const float* cx, const float* weights, float* weight_gradients) = 0;};

}  // namespace genrnn::cuda
