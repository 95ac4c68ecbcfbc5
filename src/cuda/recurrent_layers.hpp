#pragma once
// The recurrent part of a GPU engine: the L stacked layers between the input (embedding or
// one-hot) and the head. cuDNN's RNN (cudnn_layers) and the layer driver on our kernels
// (fused_layers) implement it; everything around them is shared (gpu_model). Rows are
// time-major, r = t * batch + b, on both.
#include <cstddef>
#include <vector>

#include "engine/layer_input.hpp"
#include "kernels/dropout_math.cuh"

namespace genrnn::cuda {

// A run of parameters at one offset of PyTorch's flat layout and another of a device layout.
struct ParameterSegment {
  std::size_t torch_offset;
  std::size_t device_offset;
  std::size_t count;
};

using LayerInput = genrnn::LayerInput<float>;  // the layer driver's

class RecurrentLayers {
 public:
  virtual ~RecurrentLayers() = default;
  // Floats of the layers' weight space, and where each block of the rnn.* tensors of
  // parameter_layout(config) lies in a weight space at `weights` (offsets from it).
  virtual std::size_t weight_floats() const = 0;
  virtual std::vector<ParameterSegment> weight_segments(const float* weights) const = 0;
  // `batch` streams of `seq_len` steps from h0/c0 to hT/cT ([layers][batch][H]; c for cells
  // with a c state; hT never aliases h0), in the layer driver's order. A training forward keeps
  // what backward needs and drops out between layers with `dropout`.
  virtual void forward(int batch, int seq_len, const LayerInput& input, const float* weights, const float* h0,
                       const float* c0, float* hT, float* cT, bool training, const math::DropoutMask& dropout) = 0;
  // The last layer's outputs of the last forward: [T][B][H].
  virtual const float* outputs() const = 0;
  // After a training forward, with its input, weights and initial state still in place:
  // d_outputs ([T][B][H]) is the gradient reaching the outputs, none the final state (truncated
  // BPTT). Adds the weight gradients into weight_gradients; writes the gradient of dense input
  // rows into d_input unless it is null.
  virtual void backward(const LayerInput& input, const float* weights, const float* d_outputs, float* weight_gradients,
                        float* d_input) = 0;
};

}  // namespace genrnn::cuda
