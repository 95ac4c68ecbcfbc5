#include "cuda/fused_layers.hpp"

namespace genrnn::cuda {

namespace {

// The layers' offsets from the start of their own weight space.
std::vector<LayerOffsets> layers_from(const ParameterOffsets& offsets, int first, int count, std::size_t begin) {
  std::vector<LayerOffsets> layers(offsets.layers.begin() + first, offsets.layers.begin() + first + count);
  for (LayerOffsets& layer : layers)
    for (std::size_t& offset : layer.tensors) offset -= begin;
  return layers;
}

}  // namespace

FusedLayers::FusedLayers(const DeviceContext& context, const ModelConfig& config, int first, int count)
    : FusedLayers(context, config, parameter_offsets(config), first, count) {}

FusedLayers::FusedLayers(const DeviceContext& context, const ModelConfig& config, const ParameterOffsets& offsets,
                         int first, int count)
    : backend_(context),
      torch_offset_(offsets.layers.at(first).weight_ih()),
      // Up to the next layer's first tensor, or the end of the rnn.* tensors.
      weight_floats_(
          (first + count < config.num_layers ? offsets.layers.at(first + count).weight_ih() : offsets.rnn_end) -
          torch_offset_),
      driver_(backend_, config.cell, config.hidden_size, layers_from(offsets, first, count, torch_offset_)) {}

}  // namespace genrnn::cuda
