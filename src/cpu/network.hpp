#pragma once
// The CPU reference network: embedding or one-hot input -> L recurrent layers -> linear head,
// forward and backpropagation through time over one window. Templated on the scalar so the
// engine runs in float and the gradient checks in double.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu/blas.hpp"
#include "genrnn/config.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"
#include "genrnn/state.hpp"
#include "kernels/cell_math.cuh"
#include "kernels/dropout_math.cuh"

namespace genrnn::cpu {

// Inverted dropout between layers (never after the last): keep with probability 1 - p.
struct DropoutSpec {
  float probability = 0;
  uint64_t seed = 0;
  uint64_t step = 0;
};

template <class Real>
class CpuNetwork {
 public:
  explicit CpuNetwork(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  std::vector<Real>& parameters() { return params_; }
  const std::vector<Real>& parameters() const { return params_; }
  const std::vector<Real>& gradients() const { return grads_; }
  std::vector<Real>& gradients() { return grads_; }

  // An empty h/c means zeros.
  void set_state(const RecurrentState& state);
  RecurrentState state() const;
  int state_batch() const { return state_batch_; }

  // Runs the layers over `inputs` (batch-first, [b * seq_len + t]) from the current state,
  // keeps what backward needs, and makes the final state the current one.
  void forward(const int* inputs, int batch, int seq_len, const DropoutSpec& dropout = {});
  // Logits of every position of the last forward and their summed cross-entropy against
  // `targets` (batch-first).
  Real loss(const int* targets);
  Real logit(int b, int t, int v) const { return logits_[(row(t, b)) * V_ + v]; }
  // Logits after the last position only, [b * V + v], without the rest of the head.
  template <class Out>
  void last_logits(Out* out);
  // Gradients of loss(targets) * scale with respect to every parameter (overwritten).
  void backward(const int* targets, Real scale);

 private:
  std::size_t row(int t, int b) const { return static_cast<std::size_t>(t) * batch_ + b; }
  int layer_input_size(int l) const { return l == 0 ? config_.input_size() : H_; }
  // What layer l reads: embedded tokens for l = 0, else the (dropped-out) outputs of l - 1.
  const Real* layer_input(int l) const;
  void resize(int batch, int seq_len);
  void project_inputs(int l);
  void run_cells(int l);
  void apply_dropout(int l, const DropoutSpec& dropout);
  void backward_cells(int l);
  void backward_weights(int l);

  struct LayerTensors {
    std::size_t w_ih, w_hh, b_ih, b_hh;  // offsets into params_ / grads_
  };

  ModelConfig config_;
  int L_, H_, V_, E_, G_;
  int saved_width_;  // per unit and step: LSTM i,f,g,o; GRU r,z,n,h_n; RNN none (h suffices)
  std::size_t embedding_ = 0, head_w_ = 0, head_b_ = 0;
  std::vector<LayerTensors> layers_;
  std::vector<Real> params_, grads_;

  int state_batch_ = 0;
  std::vector<Real> state_h_, state_c_;  // [l][b][j]

  // The last forward's window, rows r = t * batch + b.
  int batch_ = 0, seq_len_ = 0;
  bool dropout_active_ = false;
  std::vector<int> ids_;                      // [r]
  std::vector<Real> embedded_;                // [r][E]
  std::vector<std::vector<Real>> gx_;         // [l][r][G*H] input projections
  std::vector<std::vector<Real>> saved_;      // [l][r][saved_width * H]
  std::vector<std::vector<Real>> h_, c_;      // [l][t + 1][b][H]; t = 0 is the initial state
  std::vector<std::vector<Real>> mask_;       // [l][r][H], layers 0 .. L-2 when dropout is on
  std::vector<std::vector<Real>> dropped_;    // [l][r][H] masked outputs
  std::vector<Real> gh_;                      // [b][G*H] recurrent projection of one step
  std::vector<Real> logits_, log_normalizer_;  // [r][V], [r]
  // Backward scratch.
  std::vector<Real> dlogits_, d_out_, dgx_, dgh_, dh_, dc_, dh_direct_, dx_;
};

// ---------------------------------------------------------------------------------------------

template <class Real>
CpuNetwork<Real>::CpuNetwork(const ModelConfig& config)
    : config_(config),
      L_(config.num_layers),
      H_(config.hidden_size),
      V_(config.vocab_size),
      E_(config.embedding_dim),
      G_(config.gate_count()) {
  config_.validate();
  saved_width_ = config.cell == CellType::rnn ? 0 : 4;
  const auto layout = parameter_layout(config);
  if (E_ > 0) embedding_ = find_tensor(layout, "embedding.weight").offset;
  for (int l = 0; l < L_; ++l) {
    const auto k = "_l" + std::to_string(l);
    layers_.push_back({find_tensor(layout, "rnn.weight_ih" + k).offset,
                       find_tensor(layout, "rnn.weight_hh" + k).offset,
                       find_tensor(layout, "rnn.bias_ih" + k).offset,
                       find_tensor(layout, "rnn.bias_hh" + k).offset});
  }
  head_w_ = find_tensor(layout, "head.weight").offset;
  head_b_ = find_tensor(layout, "head.bias").offset;
  params_.assign(parameter_count(config), Real(0));
  grads_.assign(params_.size(), Real(0));
  gx_.resize(L_);
  saved_.resize(L_);
  h_.resize(L_);
  c_.resize(L_);
  mask_.resize(L_);
  dropped_.resize(L_);
  set_state({1, {}, {}});
}

template <class Real>
void CpuNetwork<Real>::set_state(const RecurrentState& state) {
  if (state.batch < 1) throw Error("a recurrent state needs a batch of at least 1");
  const std::size_t n = static_cast<std::size_t>(L_) * state.batch * H_;
  const bool lstm = config_.cell == CellType::lstm;
  if (!state.h.empty() && state.h.size() != n)
    throw Error("the initial state h has " + std::to_string(state.h.size()) + " values; expected " +
                std::to_string(n) + " (layers x batch x hidden)");
  if (!state.c.empty() && (!lstm || state.c.size() != n))
    throw Error(lstm ? "the initial state c has the wrong size" : "only an LSTM state has c");
  state_batch_ = state.batch;
  state_h_.assign(n, Real(0));
  state_c_.assign(lstm ? n : 0, Real(0));
  std::copy(state.h.begin(), state.h.end(), state_h_.begin());
  std::copy(state.c.begin(), state.c.end(), state_c_.begin());
}

template <class Real>
RecurrentState CpuNetwork<Real>::state() const {
  return {state_batch_, std::vector<float>(state_h_.begin(), state_h_.end()),
          std::vector<float>(state_c_.begin(), state_c_.end())};
}

template <class Real>
void CpuNetwork<Real>::resize(int batch, int seq_len) {
  // Buffers only grow, so after the first window of a shape nothing is allocated per step.
  batch_ = batch;
  seq_len_ = seq_len;
  const std::size_t rows = static_cast<std::size_t>(batch) * seq_len;
  const std::size_t GH = static_cast<std::size_t>(G_) * H_;
  ids_.resize(rows);
  if (E_ > 0) embedded_.resize(rows * E_);
  for (int l = 0; l < L_; ++l) {
    gx_[l].resize(rows * GH);
    saved_[l].resize(rows * saved_width_ * H_);
    h_[l].resize((rows + batch) * H_);
    if (config_.cell == CellType::lstm) c_[l].resize((rows + batch) * H_);
  }
  gh_.resize(static_cast<std::size_t>(batch) * GH);
}

template <class Real>
const Real* CpuNetwork<Real>::layer_input(int l) const {
  if (l == 0) return embedded_.data();
  if (dropout_active_) return dropped_[l - 1].data();
  return h_[l - 1].data() + static_cast<std::size_t>(batch_) * H_;
}

template <class Real>
void CpuNetwork<Real>::forward(const int* inputs, int batch, int seq_len, const DropoutSpec& dropout) {
  if (batch != state_batch_)
    throw Error("a window of " + std::to_string(batch) + " streams met a state of " +
                std::to_string(state_batch_));
  resize(batch, seq_len);
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < seq_len; ++t) {
      const int id = inputs[static_cast<std::size_t>(b) * seq_len + t];
      if (id < 0 || id >= V_) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
      ids_[row(t, b)] = id;
    }
  if (E_ > 0)
    for (std::size_t r = 0; r < ids_.size(); ++r)
      std::copy_n(params_.data() + embedding_ + static_cast<std::size_t>(ids_[r]) * E_, E_,
                  embedded_.data() + r * E_);
  dropout_active_ = dropout.probability > 0 && L_ > 1;
  const std::size_t state_size = static_cast<std::size_t>(batch) * H_;
  for (int l = 0; l < L_; ++l) {
    std::copy_n(state_h_.data() + l * state_size, state_size, h_[l].data());
    if (config_.cell == CellType::lstm)
      std::copy_n(state_c_.data() + l * state_size, state_size, c_[l].data());
    project_inputs(l);
    run_cells(l);
    const std::size_t last = static_cast<std::size_t>(seq_len) * state_size;
    std::copy_n(h_[l].data() + last, state_size, state_h_.data() + l * state_size);
    if (config_.cell == CellType::lstm)
      std::copy_n(c_[l].data() + last, state_size, state_c_.data() + l * state_size);
    if (dropout_active_ && l < L_ - 1) apply_dropout(l, dropout);
  }
}

template <class Real>
void CpuNetwork<Real>::project_inputs(int l) {
  // All time steps' input projections at once: gx = X W_ih^T + b_ih.
  const int GH = G_ * H_;
  const int rows = batch_ * seq_len_;
  const LayerTensors& w = layers_[l];
  Real* gx = gx_[l].data();
  if (l == 0 && E_ == 0) {  // one-hot input: a column of W_ih per token
    for (int r = 0; r < rows; ++r)
      for (int g = 0; g < GH; ++g)
        gx[static_cast<std::size_t>(r) * GH + g] =
            params_[w.w_ih + static_cast<std::size_t>(g) * V_ + ids_[r]] + params_[w.b_ih + g];
    return;
  }
  for (int r = 0; r < rows; ++r) std::copy_n(params_.data() + w.b_ih, GH, gx + static_cast<std::size_t>(r) * GH);
  const int in = layer_input_size(l);
  gemm<Real>(false, true, rows, GH, in, Real(1), layer_input(l), in, params_.data() + w.w_ih, in,
             Real(1), gx, GH);
}

template <class Real>
void CpuNetwork<Real>::run_cells(int l) {
  const int GH = G_ * H_;
  const std::size_t step_size = static_cast<std::size_t>(batch_) * H_;
  const LayerTensors& w = layers_[l];
  for (int t = 0; t < seq_len_; ++t) {
    const Real* h_prev = h_[l].data() + t * step_size;
    Real* h_next = h_[l].data() + (t + 1) * step_size;
    for (int b = 0; b < batch_; ++b) std::copy_n(params_.data() + w.b_hh, GH, gh_.data() + static_cast<std::size_t>(b) * GH);
    gemm<Real>(false, true, batch_, GH, H_, Real(1), h_prev, H_, params_.data() + w.w_hh, H_,
               Real(1), gh_.data(), GH);
    for (int b = 0; b < batch_; ++b) {
      const Real* gx = gx_[l].data() + row(t, b) * GH;
      const Real* gh = gh_.data() + static_cast<std::size_t>(b) * GH;
      Real* saved = saved_[l].data() + row(t, b) * saved_width_ * H_;
      const std::size_t unit = static_cast<std::size_t>(b) * H_;
      for (int j = 0; j < H_; ++j) {
        switch (config_.cell) {
          case CellType::lstm: {
            const auto a = math::lstm_gates(gx[j] + gh[j], gx[H_ + j] + gh[H_ + j],
                                            gx[2 * H_ + j] + gh[2 * H_ + j], gx[3 * H_ + j] + gh[3 * H_ + j]);
            const Real* c_prev = c_[l].data() + t * step_size;
            Real* c_next = c_[l].data() + (t + 1) * step_size;
            c_next[unit + j] = math::lstm_cell(a, c_prev[unit + j]);
            h_next[unit + j] = math::lstm_hidden(a, c_next[unit + j]);
            saved[j] = a.i, saved[H_ + j] = a.f, saved[2 * H_ + j] = a.g, saved[3 * H_ + j] = a.o;
            break;
          }
          case CellType::gru: {
            const auto a = math::gru_gates(gx[j], gx[H_ + j], gx[2 * H_ + j], gh[j], gh[H_ + j], gh[2 * H_ + j]);
            h_next[unit + j] = math::gru_hidden(a, h_prev[unit + j]);
            saved[j] = a.r, saved[H_ + j] = a.z, saved[2 * H_ + j] = a.n, saved[3 * H_ + j] = a.h_n;
            break;
          }
          case CellType::rnn:
            h_next[unit + j] = math::rnn_hidden(gx[j] + gh[j]);
            break;
        }
      }
    }
  }
}

template <class Real>
void CpuNetwork<Real>::apply_dropout(int l, const DropoutSpec& dropout) {
  const std::size_t n = static_cast<std::size_t>(batch_) * seq_len_ * H_;
  mask_[l].resize(n);
  dropped_[l].resize(n);
  const Real* out = h_[l].data() + static_cast<std::size_t>(batch_) * H_;
  for (std::size_t e = 0; e < n; ++e) {
    mask_[l][e] = math::dropout_scale(dropout.probability, dropout.seed, dropout.step, l, e);
    dropped_[l][e] = out[e] * mask_[l][e];
  }
}

template <class Real>
Real CpuNetwork<Real>::loss(const int* targets) {
  const std::size_t rows = static_cast<std::size_t>(batch_) * seq_len_;
  logits_.resize(rows * V_);
  log_normalizer_.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) std::copy_n(params_.data() + head_b_, V_, logits_.data() + r * V_);
  const Real* top = h_[L_ - 1].data() + static_cast<std::size_t>(batch_) * H_;
  gemm<Real>(false, true, static_cast<int>(rows), V_, H_, Real(1), top, H_, params_.data() + head_w_,
             H_, Real(1), logits_.data(), V_);
  Real total = 0;
  for (int t = 0; t < seq_len_; ++t)
    for (int b = 0; b < batch_; ++b) {
      const Real* z = logits_.data() + row(t, b) * V_;
      const Real max = *std::max_element(z, z + V_);
      Real sum = 0;
      for (int v = 0; v < V_; ++v) sum += std::exp(z[v] - max);
      log_normalizer_[row(t, b)] = max + std::log(sum);
      const int target = targets[static_cast<std::size_t>(b) * seq_len_ + t];
      if (target < 0 || target >= V_) throw Error("target id " + std::to_string(target) + " is outside the vocabulary");
      total += log_normalizer_[row(t, b)] - z[target];
    }
  return total;
}

template <class Real>
template <class Out>
void CpuNetwork<Real>::last_logits(Out* out) {
  const std::size_t last_row = static_cast<std::size_t>(seq_len_ - 1) * batch_;
  logits_.resize(static_cast<std::size_t>(batch_) * V_);
  for (int b = 0; b < batch_; ++b) std::copy_n(params_.data() + head_b_, V_, logits_.data() + static_cast<std::size_t>(b) * V_);
  const Real* top = h_[L_ - 1].data() + (last_row + batch_) * H_;
  gemm<Real>(false, true, batch_, V_, H_, Real(1), top, H_, params_.data() + head_w_, H_, Real(1),
             logits_.data(), V_);
  std::copy_n(logits_.data(), static_cast<std::size_t>(batch_) * V_, out);
}

template <class Real>
void CpuNetwork<Real>::backward(const int* targets, Real scale) {
  const int rows = batch_ * seq_len_;
  std::fill(grads_.begin(), grads_.end(), Real(0));
  // Softmax cross-entropy: d logits = (softmax - one_hot(target)) * scale.
  dlogits_.resize(static_cast<std::size_t>(rows) * V_);
  for (int t = 0; t < seq_len_; ++t)
    for (int b = 0; b < batch_; ++b) {
      const std::size_t r = row(t, b);
      const Real* z = logits_.data() + r * V_;
      Real* dz = dlogits_.data() + r * V_;
      for (int v = 0; v < V_; ++v) dz[v] = std::exp(z[v] - log_normalizer_[r]) * scale;
      dz[targets[static_cast<std::size_t>(b) * seq_len_ + t]] -= scale;
    }
  const Real* top = h_[L_ - 1].data() + static_cast<std::size_t>(batch_) * H_;
  gemm<Real>(true, false, V_, H_, rows, Real(1), dlogits_.data(), V_, top, H_, Real(0),
             grads_.data() + head_w_, H_);
  for (int r = 0; r < rows; ++r)
    for (int v = 0; v < V_; ++v) grads_[head_b_ + v] += dlogits_[static_cast<std::size_t>(r) * V_ + v];
  d_out_.resize(static_cast<std::size_t>(rows) * H_);
  gemm<Real>(false, false, rows, H_, V_, Real(1), dlogits_.data(), V_, params_.data() + head_w_, H_,
             Real(0), d_out_.data(), H_);
  for (int l = L_ - 1; l >= 0; --l) {
    backward_cells(l);
    backward_weights(l);
  }
}

template <class Real>
void CpuNetwork<Real>::backward_cells(int l) {
  // d_out_ holds the gradient reaching layer l's outputs; walk the steps backwards.
  const int GH = G_ * H_;
  const std::size_t rows = static_cast<std::size_t>(batch_) * seq_len_;
  const std::size_t step_size = static_cast<std::size_t>(batch_) * H_;
  dgx_.resize(rows * GH);
  dgh_.resize(rows * GH);
  dh_.assign(step_size, Real(0));  // gradient reaching h_t from step t + 1
  dc_.assign(step_size, Real(0));
  dh_direct_.assign(step_size, Real(0));
  for (int t = seq_len_ - 1; t >= 0; --t) {
    const Real* h_prev = h_[l].data() + t * step_size;
    const Real* h_next = h_[l].data() + (t + 1) * step_size;
    for (int b = 0; b < batch_; ++b) {
      const std::size_t r = row(t, b);
      const Real* saved = saved_[l].data() + r * saved_width_ * H_;
      Real* dgx = dgx_.data() + r * GH;
      Real* dgh = dgh_.data() + r * GH;
      const std::size_t unit = static_cast<std::size_t>(b) * H_;
      for (int j = 0; j < H_; ++j) {
        const Real dh = d_out_[r * H_ + j] + dh_[unit + j];
        switch (config_.cell) {
          case CellType::lstm: {
            const math::LstmGates<Real> a{saved[j], saved[H_ + j], saved[2 * H_ + j], saved[3 * H_ + j]};
            const Real c_prev = c_[l][t * step_size + unit + j];
            const Real c = c_[l][(t + 1) * step_size + unit + j];
            const auto g = math::lstm_backward(a, c_prev, c, dh, dc_[unit + j]);
            dgx[j] = dgh[j] = g.pre_i;
            dgx[H_ + j] = dgh[H_ + j] = g.pre_f;
            dgx[2 * H_ + j] = dgh[2 * H_ + j] = g.pre_g;
            dgx[3 * H_ + j] = dgh[3 * H_ + j] = g.pre_o;
            dc_[unit + j] = g.c_prev;
            break;
          }
          case CellType::gru: {
            const math::GruGates<Real> a{saved[j], saved[H_ + j], saved[2 * H_ + j], saved[3 * H_ + j]};
            const auto g = math::gru_backward(a, h_prev[unit + j], dh);
            dgx[j] = g.x_r, dgx[H_ + j] = g.x_z, dgx[2 * H_ + j] = g.x_n;
            dgh[j] = g.h_r, dgh[H_ + j] = g.h_z, dgh[2 * H_ + j] = g.h_n;
            dh_direct_[unit + j] = g.h_prev;
            break;
          }
          case CellType::rnn:
            dgx[j] = dgh[j] = math::rnn_backward(h_next[unit + j], dh);
            break;
        }
      }
    }
    // The recurrent path to h_{t-1}: dgh_t W_hh, plus GRU's direct z * dh.
    gemm<Real>(false, false, batch_, H_, GH, Real(1), dgh_.data() + row(t, 0) * GH, GH,
               params_.data() + layers_[l].w_hh, H_, Real(0), dh_.data(), H_);
    if (config_.cell == CellType::gru)
      for (std::size_t k = 0; k < step_size; ++k) dh_[k] += dh_direct_[k];
  }
}

template <class Real>
void CpuNetwork<Real>::backward_weights(int l) {
  // All steps at once: dW_hh = dgh^T h_prev, dW_ih = dgx^T X, and the biases.
  const int GH = G_ * H_;
  const int rows = batch_ * seq_len_;
  const LayerTensors& w = layers_[l];
  gemm<Real>(true, false, GH, H_, rows, Real(1), dgh_.data(), GH, h_[l].data(), H_, Real(0),
             grads_.data() + w.w_hh, H_);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < GH; ++g) {
      grads_[w.b_hh + g] += dgh_[static_cast<std::size_t>(r) * GH + g];
      grads_[w.b_ih + g] += dgx_[static_cast<std::size_t>(r) * GH + g];
    }
  if (l == 0 && E_ == 0) {  // one-hot input: each token's column of W_ih
    for (int r = 0; r < rows; ++r)
      for (int g = 0; g < GH; ++g)
        grads_[w.w_ih + static_cast<std::size_t>(g) * V_ + ids_[r]] += dgx_[static_cast<std::size_t>(r) * GH + g];
    return;
  }
  const int in = layer_input_size(l);
  gemm<Real>(true, false, GH, in, rows, Real(1), dgx_.data(), GH, layer_input(l), in, Real(0),
             grads_.data() + w.w_ih, in);
  dx_.resize(static_cast<std::size_t>(rows) * in);
  gemm<Real>(false, false, rows, in, GH, Real(1), dgx_.data(), GH, params_.data() + w.w_ih, in,
             Real(0), dx_.data(), in);
  if (l == 0) {  // embedding rows: scatter-add
    for (int r = 0; r < rows; ++r)
      for (int e = 0; e < E_; ++e)
        grads_[embedding_ + static_cast<std::size_t>(ids_[r]) * E_ + e] += dx_[static_cast<std::size_t>(r) * E_ + e];
    return;
  }
  // The gradient reaching layer l - 1's outputs, through its dropout mask.
  for (std::size_t k = 0; k < dx_.size(); ++k)
    d_out_[k] = dropout_active_ ? dx_[k] * mask_[l - 1][k] : dx_[k];
}

}  // namespace genrnn::cpu
