#include "cuda/gpu_model.hpp"

#include "core/cell_table.hpp"
#include "cuda/cudnn_layers.hpp"
#include "cuda/fused_layers.hpp"
#include "cuda/row_major_gemm.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"
#include "kernels/ops.hpp"

namespace genrnn::cuda {

namespace {

std::unique_ptr<RecurrentLayers> make_layers(GpuLayers kind, const DeviceContext& context, const ModelConfig& config) {
  if (kind == GpuLayers::cudnn) return std::make_unique<CudnnLayers>(context, config);
  return std::make_unique<FusedLayers>(context, config, 0, config.num_layers);
}

}  // namespace

GpuModel::GpuModel(const ModelConfig& config, GpuLayers layers, const EngineOptions& options)
    : config_(config),
      has_c_(has_cell_state(config)),
      context_(options.gpu, options.tf32),
      layers_(make_layers(layers, context_, config)),
      params_(context_.stream()),
      h_{DeviceBuffer<float>(context_.stream()), DeviceBuffer<float>(context_.stream())},
      c_{DeviceBuffer<float>(context_.stream()), DeviceBuffer<float>(context_.stream())},
      tokens_(context_.stream()),
      embedded_(context_.stream()) {
  const auto V = static_cast<std::size_t>(config.vocab_size), E = static_cast<std::size_t>(config.embedding_dim),
             H = static_cast<std::size_t>(config.hidden_size);
  embedding_offset_ = aligned_floats(layers_->weight_floats());
  head_weight_offset_ = aligned_floats(embedding_offset_ + V * E);
  head_bias_offset_ = aligned_floats(head_weight_offset_ + V * H);
  device_floats_ = aligned_floats(head_bias_offset_ + V);
  params_.reserve(device_floats_);
  GENRNN_CUDA_CHECK(cudaMemsetAsync(params_.data(), 0, device_floats_ * sizeof(float), context_.stream()));

  segments_ = layers_->weight_segments(params_.data());
  const ParameterOffsets offsets = parameter_offsets(config);
  if (E > 0) segments_.push_back({offsets.embedding, embedding_offset_, V * E});
  segments_.push_back({offsets.head_weight, head_weight_offset_, V * H});
  segments_.push_back({offsets.head_bias, head_bias_offset_, V});
  std::size_t covered = 0;
  for (const auto& segment : segments_) covered += segment.count;
  if (covered != offsets.count)
    throw Error("the device weight mapping covers " + std::to_string(covered) + " of " + std::to_string(offsets.count) +
                " parameters");
  // As every engine: a zero state of one stream until one is set.
  const std::vector<float> zeros(static_cast<std::size_t>(config.num_layers) * config.hidden_size, 0.0f);
  set_state({1, zeros, has_c_ ? zeros : std::vector<float>{}});
}

void GpuModel::upload(const std::vector<float>& flat, float* device) const {
  for (const auto& s : segments_)
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(device + s.device_offset, flat.data() + s.torch_offset, s.count * sizeof(float),
                                      cudaMemcpyHostToDevice, context_.stream()));
  context_.synchronize();  // `flat` may go away once this returns
}

std::vector<float> GpuModel::download(const float* device) const {
  std::vector<float> flat(parameter_count(config_));
  for (const auto& s : segments_)
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(flat.data() + s.torch_offset, device + s.device_offset, s.count * sizeof(float),
                                      cudaMemcpyDeviceToHost, context_.stream()));
  context_.synchronize();
  return flat;
}

void GpuModel::set_state(const RecurrentState& state) {
  batch_ = state.batch;
  const std::size_t n = state_size();
  for (int half = 0; half < 2; ++half) {
    h_[half].reserve(n);
    if (has_c_) c_[half].reserve(n);
  }
  current_state_ = 0;
  GENRNN_CUDA_CHECK(
      cudaMemcpyAsync(h_[0].data(), state.h.data(), n * sizeof(float), cudaMemcpyHostToDevice, context_.stream()));
  if (has_c_)
    GENRNN_CUDA_CHECK(
        cudaMemcpyAsync(c_[0].data(), state.c.data(), n * sizeof(float), cudaMemcpyHostToDevice, context_.stream()));
  context_.synchronize();  // `state` may go away once this returns
}

RecurrentState GpuModel::state() const {
  const std::size_t n = state_size();
  RecurrentState state{batch_, std::vector<float>(n), std::vector<float>(has_c_ ? n : 0)};
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(state.h.data(), h_[current_state_].data(), n * sizeof(float),
                                    cudaMemcpyDeviceToHost, context_.stream()));
  if (has_c_)
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(state.c.data(), c_[current_state_].data(), n * sizeof(float),
                                      cudaMemcpyDeviceToHost, context_.stream()));
  context_.synchronize();
  return state;
}

void GpuModel::upload_window(const std::vector<int>& inputs, const std::vector<int>* targets, int seq_len) {
  seq_len_ = seq_len;
  const std::size_t n = rows(), arrays = targets ? 2 : 1;
  tokens_.reserve(2 * n);
  int* stage = token_stage_.acquire(arrays * n);
  for (std::size_t b = 0; b < std::size_t(batch_); ++b)
    for (std::size_t t = 0; t < std::size_t(seq_len); ++t) {
      stage[t * batch_ + b] = inputs[b * seq_len + t];
      if (targets) stage[n + t * batch_ + b] = (*targets)[b * seq_len + t];
    }
  token_stage_.upload(tokens_.data(), arrays * n, context_.stream());
}

LayerInput GpuModel::layer_input(const int* ids) const {
  return config_.embedding_dim > 0 ? LayerInput{embedded_.data(), nullptr} : LayerInput{nullptr, ids};
}

void GpuModel::forward(const int* ids, int seq_len, bool training, const math::DropoutMask& dropout) {
  seq_len_ = seq_len;
  const int n = static_cast<int>(rows());
  if (config_.embedding_dim > 0) {
    embedded_.reserve(rows() * config_.embedding_dim);
    kernels::embedding_gather(embedding(params_.data()), ids, n, config_.embedding_dim, embedded_.data(),
                              context_.stream());
  }
  const int next = current_state_ ^ 1;
  layers_->forward(batch_, seq_len, layer_input(ids), params_.data(), h_[current_state_].data(),
                   has_c_ ? c_[current_state_].data() : nullptr, h_[next].data(), has_c_ ? c_[next].data() : nullptr,
                   training, dropout);
}

void GpuModel::head(const float* rows, int n, float* logits, bool with_bias) const {
  const int V = config_.vocab_size, H = config_.hidden_size;
  gemm_row_major(context_.cublas(), false, true, n, V, H, 1.0f, rows, H, head_weight(params_.data()), H, 0.0f, logits,
                 V);
  if (with_bias) kernels::add_bias_rows(logits, head_bias(params_.data()), n, V, context_.stream());
}

}  // namespace genrnn::cuda
