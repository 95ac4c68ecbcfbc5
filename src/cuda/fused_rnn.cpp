#include "cuda/fused_rnn.hpp"

#include <string>

#include "cuda/row_major_gemm.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"
#include "kernels/cell_ops.hpp"
#include "kernels/ops.hpp"

namespace genrnn::cuda {

FusedRnn::FusedRnn(const DeviceContext& context, const ModelConfig& config)
    : context_(context), config_(config), gate_width_(config.gate_count() * config.hidden_size) {
  const auto layout = parameter_layout(config);
  const std::size_t first = first_weight_offset_ = find_tensor(layout, "rnn.weight_ih_l0").offset;
  for (int l = 0; l < config.num_layers; ++l) {
    const auto k = "_l" + std::to_string(l);
    layers_.push_back({find_tensor(layout, "rnn.weight_ih" + k).offset - first,
                       find_tensor(layout, "rnn.weight_hh" + k).offset - first,
                       find_tensor(layout, "rnn.bias_ih" + k).offset - first,
                       find_tensor(layout, "rnn.bias_hh" + k).offset - first,
                       l == 0 ? config.input_size() : config.hidden_size});
  }
  const TensorSpec& last = find_tensor(layout, "rnn.bias_hh_l" + std::to_string(config.num_layers - 1));
  weight_floats_ = last.offset + last.numel() - first;
  outputs_.resize(config.num_layers);
  cells_.resize(config.num_layers);
  saved_.resize(config.num_layers);
  dropped_.resize(config.num_layers);
}

std::vector<ParameterSegment> FusedRnn::weight_segments(const float*) const {
  return {{first_weight_offset_, 0, weight_floats_}};
}

void FusedRnn::set_dropout(float probability, uint64_t seed, uint64_t step) { dropout_ = {probability, seed, step}; }

void FusedRnn::configure(int batch, int seq_len) {
  if (batch == batch_ && seq_len == seq_len_) return;
  batch_ = batch;
  seq_len_ = seq_len;
  const std::size_t H = config_.hidden_size, G = gate_width_;
  x_time_major_.reserve(rows() * config_.input_size());
  for (int l = 0; l < config_.num_layers; ++l) {
    outputs_[l].reserve((rows() + step_rows()) * H);
    if (config_.cell == CellType::lstm) cells_[l].reserve((rows() + step_rows()) * H);
    saved_[l].reserve(rows() * 4 * H);
    if (l + 1 < config_.num_layers) dropped_[l].reserve(rows() * H);
  }
  gx_.reserve(rows() * G);
  gh_.reserve(step_rows() * G);
  dgx_.reserve(rows() * G);
  dgh_.reserve(rows() * G);
  for (auto* buffer : {&dh_next_, &dc_, &dh_direct_}) buffer->reserve(step_rows() * H);
  for (auto& buffer : d_out_) buffer.reserve(rows() * H);
  dx_time_major_.reserve(rows() * config_.input_size());
}

void FusedRnn::transpose_batch_time(const float* from, float* to, int width, bool to_time_major) const {
  // One strided 2-D copy per step: step t of every stream.
  const std::size_t row_bytes = static_cast<std::size_t>(width) * sizeof(float);
  for (int t = 0; t < seq_len_; ++t) {
    const std::size_t batch_major = static_cast<std::size_t>(t) * width;  // stream 0, step t
    const std::size_t time_major = static_cast<std::size_t>(t) * batch_ * width;
    if (to_time_major)
      GENRNN_CUDA_CHECK(cudaMemcpy2DAsync(to + time_major, row_bytes, from + batch_major, row_bytes * seq_len_, row_bytes,
                                          batch_, cudaMemcpyDeviceToDevice, context_.stream()));
    else
      GENRNN_CUDA_CHECK(cudaMemcpy2DAsync(to + batch_major, row_bytes * seq_len_, from + time_major, row_bytes, row_bytes,
                                          batch_, cudaMemcpyDeviceToDevice, context_.stream()));
  }
}

const float* FusedRnn::layer_input(int layer) const {
  if (layer == 0) return x_time_major_.data();
  if (dropout_active() && layer < config_.num_layers) return dropped_[layer - 1].data();
  return outputs_[layer - 1].data() + step_rows() * config_.hidden_size;  // rows of t = 1 .. T
}

void FusedRnn::forward(bool training, const float* x, float* y, const float* hx, float* hy, const float* cx, float* cy,
                       const float* weights) {
  const int H = config_.hidden_size, G = gate_width_, B = batch_, n = static_cast<int>(rows());
  const bool lstm = config_.cell == CellType::lstm;
  const std::size_t step_size = step_rows() * H, state_bytes = step_size * sizeof(float);
  const kernels::CellStep step{config_.cell, B, H};
  training_ = training;
  transpose_batch_time(x, x_time_major_.data(), config_.input_size(), true);
  for (int l = 0; l < config_.num_layers; ++l) {
    const LayerWeights& w = layers_[l];
    float* out = outputs_[l].data();
    float* cell = lstm ? cells_[l].data() : nullptr;
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(out, hx + l * step_size, state_bytes, cudaMemcpyDeviceToDevice, context_.stream()));
    if (lstm)
      GENRNN_CUDA_CHECK(cudaMemcpyAsync(cell, cx + l * step_size, state_bytes, cudaMemcpyDeviceToDevice, context_.stream()));
    // Every step's input projection at once.
    gemm_row_major(context_.cublas(), false, true, n, G, w.input, 1.0f, layer_input(l), w.input, weights + w.w_ih,
                   w.input, 0.0f, gx_.data(), G);
    kernels::add_bias_rows(gx_.data(), weights + w.b_ih, n, G, context_.stream());
    for (int t = 0; t < seq_len_; ++t) {
      const float* h_prev = out + t * step_size;
      gemm_row_major(context_.cublas(), false, true, B, G, H, 1.0f, h_prev, H, weights + w.w_hh, H, 0.0f, gh_.data(), G);
      kernels::cell_forward(step, gx_.data() + t * step_rows() * G, G, gh_.data(), weights + w.b_hh, h_prev, H,
                            lstm ? cell + t * step_size : nullptr, out + (t + 1) * step_size, H,
                            lstm ? cell + (t + 1) * step_size : nullptr,
                            training ? saved_[l].data() + t * step_rows() * 4 * H : nullptr, context_.stream());
    }
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(hy + l * step_size, out + seq_len_ * step_size, state_bytes,
                                      cudaMemcpyDeviceToDevice, context_.stream()));
    if (lstm)
      GENRNN_CUDA_CHECK(cudaMemcpyAsync(cy + l * step_size, cell + seq_len_ * step_size, state_bytes,
                                        cudaMemcpyDeviceToDevice, context_.stream()));
    if (dropout_active() && l + 1 < config_.num_layers)
      kernels::apply_dropout(out + step_size, dropped_[l].data(), rows() * H, dropout_.probability, dropout_.seed,
                             dropout_.step, l, context_.stream());
  }
  transpose_batch_time(layer_input(config_.num_layers), y, H, false);
}

void FusedRnn::backward(const float*, const float*, const float* dy, float* dx, const float*, const float*,
                        const float* weights, float* weight_gradients) {
  // x, y and the initial state were kept time-major by forward (outputs_[l] row block 0 is hx).
  const int H = config_.hidden_size, G = gate_width_, B = batch_, n = static_cast<int>(rows());
  const bool lstm = config_.cell == CellType::lstm, gru = config_.cell == CellType::gru;
  const std::size_t step_size = step_rows() * H;
  const kernels::CellStep step{config_.cell, B, H};
  int current = 0;  // d_out_[current]: the gradient reaching the outputs of the layer at hand
  transpose_batch_time(dy, d_out_[current].data(), H, true);
  for (int l = config_.num_layers - 1; l >= 0; --l) {
    const LayerWeights& w = layers_[l];
    const float* out = outputs_[l].data();
    const float* cell = lstm ? cells_[l].data() : nullptr;
    GENRNN_CUDA_CHECK(cudaMemsetAsync(dh_next_.data(), 0, step_size * sizeof(float), context_.stream()));
    if (lstm) GENRNN_CUDA_CHECK(cudaMemsetAsync(dc_.data(), 0, step_size * sizeof(float), context_.stream()));
    for (int t = seq_len_ - 1; t >= 0; --t) {
      float* dgx = dgx_.data() + t * step_rows() * G;
      float* dgh = dgh_.data() + t * step_rows() * G;
      kernels::cell_backward(step, saved_[l].data() + t * step_rows() * 4 * H, out + t * step_size, H,
                             lstm ? cell + t * step_size : nullptr, lstm ? cell + (t + 1) * step_size : nullptr,
                             out + (t + 1) * step_size, H, d_out_[current].data() + t * step_size, H, dh_next_.data(),
                             lstm ? dc_.data() : nullptr, dgx, dgh, gru ? dh_direct_.data() : nullptr, context_.stream());
      // The recurrent path to h_{t-1}: dgh W_hh, plus GRU's direct z * dh.
      gemm_row_major(context_.cublas(), false, false, B, H, G, 1.0f, dgh, G, weights + w.w_hh, H, 0.0f,
                     dh_next_.data(), H);
      if (gru) {
        const float one = 1.0f;
        GENRNN_CUBLAS_CHECK(cublasSaxpy(context_.cublas(), static_cast<int>(step_size), &one, dh_direct_.data(), 1,
                                        dh_next_.data(), 1));
      }
    }
    // All steps at once: dW_hh += dgh^T h_prev, dW_ih += dgx^T X, the biases, and dX.
    gemm_row_major(context_.cublas(), true, false, G, H, n, 1.0f, dgh_.data(), G, out, H, 1.0f,
                   weight_gradients + w.w_hh, H);
    gemm_row_major(context_.cublas(), true, false, G, w.input, n, 1.0f, dgx_.data(), G, layer_input(l), w.input, 1.0f,
                   weight_gradients + w.w_ih, w.input);
    kernels::column_sums(dgh_.data(), n, G, weight_gradients + w.b_hh, true, context_.stream());
    kernels::column_sums(dgx_.data(), n, G, weight_gradients + w.b_ih, true, context_.stream());
    float* dx_rows = l == 0 ? dx_time_major_.data() : d_out_[current ^ 1].data();
    gemm_row_major(context_.cublas(), false, false, n, w.input, G, 1.0f, dgx_.data(), G, weights + w.w_ih, w.input,
                   0.0f, dx_rows, w.input);
    if (l > 0 && dropout_active())  // through the mask of the layer below's outputs
      kernels::apply_dropout(dx_rows, dx_rows, rows() * H, dropout_.probability, dropout_.seed, dropout_.step, l - 1,
                             context_.stream());
    current ^= 1;
  }
  transpose_batch_time(dx_time_major_.data(), dx, config_.input_size(), false);
}

}  // namespace genrnn::cuda
