#pragma once
// The recurrent layers through cuDNN 9's RNN API (the v8-style calls only): descriptors, the
// weight space and its mapping to PyTorch's tensors, forward, backward data and weights.
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "cuda/recurrent_layers.hpp"
#include "genrnn/config.hpp"

namespace genrnn::cuda {

class CudnnRnn final : public RecurrentLayers {
 public:
  CudnnRnn(const DeviceContext& context, const ModelConfig& config);
  ~CudnnRnn();
  CudnnRnn(const CudnnRnn&) = delete;
  CudnnRnn& operator=(const CudnnRnn&) = delete;

  const char* engine_name() const override { return "cudnn"; }
  std::size_t weight_floats() const override { return weight_bytes_ / sizeof(float); }
  // cuDNN draws its own masks from `seed` (not the CPU's); re-initialising its dropout states is
  // costly, so it happens only when p changes (and only then does a new seed take effect).
  void set_dropout(float probability, uint64_t seed, uint64_t step) override;
  // As cudnnGetRNNWeightParams reports, for every (layer, linLayerID): never assumed offsets.
  std::vector<ParameterSegment> weight_segments(const float* weights) const override;
  void configure(int batch, int seq_len) override;
  void forward(bool training, const float* x, float* y, const float* hx, float* hy, const float* cx, float* cy,
               const float* weights) override;
  void backward(const float* x, const float* y, const float* dy, float* dx, const float* hx, const float* cx,
                const float* weights, float* weight_gradients) override;

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
