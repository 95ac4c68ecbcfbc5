#pragma once
// The recurrent layers through cuDNN 9's RNN API (the v8-style calls only): descriptors, the
// weight space and its mapping to PyTorch's tensors, forward, backward data and weights.
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "genrnn/config.hpp"

namespace genrnn::cuda {

// A run of parameters at one offset of PyTorch's flat layout and another of a device layout.
struct ParameterSegment {
  std::size_t torch_offset;
  std::size_t device_offset;
  std::size_t count;
};

class CudnnRnn {
 public:
  CudnnRnn(const DeviceContext& context, const ModelConfig& config);
  ~CudnnRnn();
  CudnnRnn(const CudnnRnn&) = delete;
  CudnnRnn& operator=(const CudnnRnn&) = delete;

  std::size_t weight_floats() const { return weight_bytes_ / sizeof(float); }
  // Dropout between layers in training forwards (cuDNN draws its own masks from `seed`);
  // re-initialising cuDNN's dropout states is costly, so it happens only when p changes.
  void set_dropout(float probability, uint64_t seed);
  // Where each gate block of every rnn.* tensor of parameter_layout(config) lies in a weight
  // space at `weights` (offsets from it), as cudnnGetRNNWeightParams reports: never assumed.
  std::vector<ParameterSegment> weight_segments(const float* weights) const;
  // Descriptors and scratch for `batch` streams of `seq_len` steps (cached while unchanged).
  void configure(int batch, int seq_len);
  // x: [batch][seq_len][input], y: [batch][seq_len][H], states [layers][batch][H]. cx and cy
  // are used by LSTM only. Training mode keeps what backward needs in the reserve space.
  void forward(bool training, const float* x, float* y, const float* hx, float* hy, const float* cx,
               float* cy, const float* weights);
  // After a training forward on the same data: dx from dy (the gradients reaching the final
  // state are zero: truncated BPTT), then the weight gradients added into weight_gradients.
  void backward(const float* x, const float* y, const float* dy, float* dx, const float* hx, const float* cx,
                const float* weights, float* weight_gradients);
  static const char* algorithm_name() { return "CUDNN_RNN_ALGO_STANDARD"; }

 private:
  void describe();

  const DeviceContext& context_;
  ModelConfig config_;
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnDropoutDescriptor_t dropout_ = nullptr;
  cudnnRNNDataDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnTensorDescriptor_t state_desc_ = nullptr;
  DeviceBuffer<unsigned char> dropout_states_;
  float dropout_probability_ = 0;
  std::size_t weight_bytes_ = 0;
  int batch_ = 0, seq_len_ = 0;
  DeviceBuffer<int32_t> sequence_lengths_;
  DeviceBuffer<unsigned char> workspace_, reserve_;
  std::size_t workspace_bytes_ = 0, reserve_bytes_ = 0;
  DeviceBuffer<float> state_gradients_;  // dhx and dcx: computed by cuDNN, not needed further
};

}  // namespace genrnn::cuda
