#pragma once
// The recurrent layers through cuDNN 9's RNN API (the v8-style calls only): descriptors, the
// weight space and its mapping to PyTorch's tensors, forward, backward data and weights, on
// time-major (SEQ_MAJOR_UNPACKED) data. cuDNN multiplies a dense input, so a one-hot first
// layer runs on the shared layer driver (fused_layers) instead, and cuDNN takes the rest.
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "cuda/fused_layers.hpp"
#include "cuda/recurrent_layers.hpp"
#include "genrnn/config.hpp"
#include "genrnn/parameters.hpp"

namespace genrnn::cuda {

class CudnnLayers final : public RecurrentLayers {
 public:
  CudnnLayers(const DeviceContext& context, const ModelConfig& config);
  ~CudnnLayers();
  CudnnLayers(const CudnnLayers&) = delete;
  CudnnLayers& operator=(const CudnnLayers&) = delete;

  // [one-hot first layer | cuDNN's weight space]
  std::size_t weight_floats() const override { return cudnn_offset_ + weight_bytes_ / sizeof(float); }
  // cuDNN's blocks as cudnnGetRNNWeightParams reports them, for every (layer, linLayerID):
  // never assumed offsets.
  std::vector<ParameterSegment> weight_segments(const float* weights) const override;
  // Dropout: cuDNN draws its own masks between its layers; re-initialising its dropout states
  // is costly, so it happens only when a training forward's p changes (and only then does a new
  // seed take effect); inference leaves them alone. After a one-hot first layer, the CPU
  // engine's Philox mask.
  void forward(int batch, int seq_len, const LayerInput& input, const float* weights, const float* hx, const float* cx,
               float* hy, float* cy, bool training, const math::DropoutMask& dropout) override;
  const float* outputs() const override;
  void backward(const LayerInput& input, const float* weights, const float* d_outputs, float* weight_gradients,
                float* d_input) override;

 private:
  int cudnn_layers() const { return config_.num_layers - (first_ ? 1 : 0); }
  std::size_t state_rows() const { return static_cast<std::size_t>(batch_) * config_.hidden_size; }
  void describe();
  void set_dropout(float probability, uint64_t seed);
  // Descriptors and scratch for `batch` streams of `seq_len` steps (cached while unchanged).
  void configure(int batch, int seq_len);

  const DeviceContext& context_;
  ModelConfig config_;
  ParameterOffsets offsets_;
  std::unique_ptr<FusedLayers> first_;  // the one-hot first layer, when E = 0
  std::size_t cudnn_offset_ = 0;        // of cuDNN's weight space in the layers' weights
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
  DeviceBuffer<float> y_;
  // The last training forward's cuDNN input and initial state, which backward reads again.
  const float *x_ = nullptr, *hx_ = nullptr, *cx_ = nullptr;
  math::DropoutMask first_dropout_;              // on the first layer's outputs, in the last forward
  DeviceBuffer<float> first_dropped_, d_first_;  // [T][B][H]: the first layer's masked outputs, their gradient
  DeviceBuffer<float> state_gradients_;          // dhx and dcx: computed by cuDNN, not needed further
};

}  // namespace genrnn::cuda
