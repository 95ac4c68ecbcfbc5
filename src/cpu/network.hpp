#pragma once
// The CPU reference network: embedding or one-hot input -> L recurrent layers (the shared
// layer driver on the host) -> linear head, forward and backpropagation through time over one
// window. Templated on the scalar so the engine runs in float and the gradient checks in
// double. Arguments are not checked here: the engine roles' entry points check them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/cell_table.hpp"
#include "core/memory_size.hpp"
#include "cpu/host_backend.hpp"
#include "cpu/row_blocks.hpp"
#include "engine/layer_driver.hpp"
#include "genrnn/config.hpp"
#include "genrnn/parameters.hpp"
#include "genrnn/state.hpp"
#include "kernels/dropout_math.cuh"

namespace genrnn::cpu {

template <class Real>
class CpuNetwork {
 public:
  explicit CpuNetwork(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  // Mutable access: the layers' packed copies of the weights are made again at their next use.
  std::vector<Real>& parameters() {
    backend_.weights_changed();
    return params_;
  }
  const std::vector<Real>& parameters() const { return params_; }
  std::vector<Real>& gradients() { return grads_; }
  const std::vector<Real>& gradients() const { return grads_; }

  // A state of layers x batch x hidden values (c for cells with a c state); empty h/c: zeros.
  void set_state(const RecurrentState& state);
  RecurrentState state() const;

  // Runs the layers over `inputs` (batch-first, [b * seq_len + t], `batch` as the state's)
  // from the current state and makes the final state the current one. Unless `inference`, it
  // keeps what backward needs and applies `dropout`.
  void forward(const int* inputs, int batch, int seq_len, const math::DropoutMask& dropout = {},
               bool inference = false);
  // Logits of every position of the last forward and their summed cross-entropy against
  // `targets` (batch-first), added up in double: thousands of rows keep their digits.
  double loss(const int* targets);
  Real logit(int b, int t, int v) const { return logits_[row(t, b) * V_ + v]; }
  // Logits after the last position only, [b * V + v], without the rest of the head.
  template <class Out>
  void last_logits(Out* out);
  // Gradients of loss(targets) * scale with respect to every parameter (overwritten).
  void backward(const int* targets, Real scale);

 private:
  using Layers = LayerDriver<HostBackend<Real>>;
  std::size_t row(int t, int b) const { return static_cast<std::size_t>(t) * batch_ + b; }
  std::size_t rows() const { return static_cast<std::size_t>(batch_) * seq_len_; }
  // targets are batch-first, as the inputs.
  int target(const int* targets, int t, int b) const { return targets[static_cast<std::size_t>(b) * seq_len_ + t]; }
  typename Layers::Input layer_input() const {
    return E_ > 0 ? typename Layers::Input{embedded_.data(), nullptr} : typename Layers::Input{nullptr, ids_.data()};
  }
  // logits_ = the head over `count` rows of the last layer's outputs.
  void head(const Real* outputs, std::size_t count);

  ModelConfig config_;
  ParameterOffsets offsets_;
  int H_, V_, E_;
  bool has_c_;
  std::vector<Real> params_, grads_;
  int state_batch_ = 0;
  std::vector<Real> state_h_, state_c_;  // [l][b][j]
  HostBackend<Real> backend_;
  Layers layers_;

  // The last forward's window, rows r = t * batch + b (time-major, as the layer driver's).
  int batch_ = 0, seq_len_ = 0;
  std::vector<int> ids_;                                 // [r]
  std::vector<Real> embedded_;                           // [r][E]
  std::vector<Real> logits_, log_normalizer_;            // [r][V], [r]
  std::vector<Real> d_logits_, d_outputs_, d_embedded_;  // [r][V], [r][H], [r][E]
};

// ---------------------------------------------------------------------------------------------

template <class Real>
CpuNetwork<Real>::CpuNetwork(const ModelConfig& config)
    : config_(config),
      offsets_(parameter_offsets(config)),
      H_(config.hidden_size),
      V_(config.vocab_size),
      E_(config.embedding_dim),
      has_c_(has_cell_state(config)),
      params_(host_vector<Real>(offsets_.count, "the CPU engine's weights")),
      grads_(host_vector<Real>(offsets_.count, "the CPU engine's gradients")),
      layers_(backend_, config.cell, config.hidden_size, offsets_.layers) {
  set_state({1, {}, {}});
}

template <class Real>
void CpuNetwork<Real>::set_state(const RecurrentState& state) {
  const std::size_t n = static_cast<std::size_t>(config_.num_layers) * state.batch * H_;
  state_batch_ = state.batch;
  state_h_.assign(n, Real(0));
  state_c_.assign(has_c_ ? n : 0, Real(0));
  std::copy(state.h.begin(), state.h.end(), state_h_.begin());
  std::copy(state.c.begin(), state.c.end(), state_c_.begin());
}

template <class Real>
RecurrentState CpuNetwork<Real>::state() const {
  return {state_batch_, std::vector<float>(state_h_.begin(), state_h_.end()),
          std::vector<float>(state_c_.begin(), state_c_.end())};
}

template <class Real>
void CpuNetwork<Real>::forward(const int* inputs, int batch, int seq_len, const math::DropoutMask& dropout,
                               bool inference) {
  batch_ = batch;
  seq_len_ = seq_len;
  ids_.resize(rows());
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < seq_len; ++t) ids_[row(t, b)] = inputs[static_cast<std::size_t>(b) * seq_len + t];
  if (E_ > 0) {
    embedded_.resize(rows() * E_);
    for (std::size_t r = 0; r < rows(); ++r)
      std::copy_n(params_.data() + offsets_.embedding + static_cast<std::size_t>(ids_[r]) * E_, E_,
                  embedded_.data() + r * E_);
  }
  layers_.forward(batch, seq_len, layer_input(), params_.data(), state_h_.data(), state_c_.data(), state_h_.data(),
                  state_c_.data(), !inference, dropout);
}

template <class Real>
void CpuNetwork<Real>::head(const Real* outputs, std::size_t count) {
  logits_.resize(count * V_);
  for (std::size_t r = 0; r < count; ++r) std::copy_n(params_.data() + offsets_.head_bias, V_, logits_.data() + r * V_);
  backend_.weight_gemm(true, static_cast<int>(count), V_, H_, outputs, H_, params_.data() + offsets_.head_weight, H_,
                       Real(1), logits_.data(), V_);
}

template <class Real>
double CpuNetwork<Real>::loss(const int* targets) {
  head(layers_.outputs(), rows());
  log_normalizer_.resize(rows());
  // Each row's normalizer on its own (the rows split across the threads), then the sum in order.
  for_row_blocks(rows(), rows() * V_, [&](std::size_t first, std::size_t last) {
    for (std::size_t r = first; r < last; ++r) {
      const Real* z = logits_.data() + r * V_;
      const Real max = *std::max_element(z, z + V_);
      Real sum = 0;
      for (int v = 0; v < V_; ++v) sum += math::exp_of(z[v] - max);
      log_normalizer_[r] = max + std::log(sum);
    }
  });
  double total = 0;
  for (int t = 0; t < seq_len_; ++t)
    for (int b = 0; b < batch_; ++b)
      total += log_normalizer_[row(t, b)] - logits_[row(t, b) * V_ + target(targets, t, b)];
  return total;
}

template <class Real>
template <class Out>
void CpuNetwork<Real>::last_logits(Out* out) {
  // Time-major: the last position's rows are the last batch_ rows.
  head(layers_.outputs() + row(seq_len_ - 1, 0) * H_, static_cast<std::size_t>(batch_));
  std::copy_n(logits_.data(), static_cast<std::size_t>(batch_) * V_, out);
}

template <class Real>
void CpuNetwork<Real>::backward(const int* targets, Real scale) {
  const int n = static_cast<int>(rows());
  std::fill(grads_.begin(), grads_.end(), Real(0));
  // Softmax cross-entropy: d logits = (softmax - one_hot(target)) * scale.
  d_logits_.resize(rows() * V_);
  for_row_blocks(rows(), rows() * V_, [&](std::size_t first, std::size_t last) {
    for (std::size_t r = first; r < last; ++r) {
      const Real* z = logits_.data() + r * V_;
      Real* dz = d_logits_.data() + r * V_;
      for (int v = 0; v < V_; ++v) dz[v] = math::exp_of(z[v] - log_normalizer_[r]) * scale;
      dz[target(targets, int(r / batch_), int(r % batch_))] -= scale;
    }
  });
  backend_.gemm(true, false, V_, H_, n, Real(1), d_logits_.data(), V_, layers_.outputs(), H_, Real(0),
                grads_.data() + offsets_.head_weight, H_);
  backend_.add_column_sums(d_logits_.data(), n, V_, grads_.data() + offsets_.head_bias);
  d_outputs_.resize(rows() * H_);
  backend_.weight_gemm(false, n, H_, V_, d_logits_.data(), V_, params_.data() + offsets_.head_weight, H_, Real(0),
                       d_outputs_.data(), H_);
  if (E_ > 0) d_embedded_.resize(rows() * E_);
  layers_.backward(layer_input(), params_.data(), d_outputs_.data(), grads_.data(),
                   E_ > 0 ? d_embedded_.data() : nullptr);
  if (E_ == 0) return;
  for (std::size_t r = 0; r < rows(); ++r)  // embedding rows: scatter-add
    for (int e = 0; e < E_; ++e)
      grads_[offsets_.embedding + static_cast<std::size_t>(ids_[r]) * E_ + e] += d_embedded_[r * E_ + e];
}

}  // namespace genrnn::cpu
