#pragma once
// PyTorch's nn.LSTM: gates i, f, g, o; c' = f * c + i * g; h' = o * tanh(c').
#include "kernels/cell_step.cuh"

namespace genrnn::math {

template <class T>
struct LstmGates {
  T i, f, g, o;  // after their nonlinearities
};

template <class T>
GENRNN_HD LstmGates<T> lstm_gates(T pre_i, T pre_f, T pre_g, T pre_o) {
  return {sigmoid(pre_i), sigmoid(pre_f), tanh_of(pre_g), sigmoid(pre_o)};
}

template <class T>
GENRNN_HD T lstm_cell(const LstmGates<T>& a, T c_prev) {
  return a.f * c_prev + a.i * a.g;
}

template <class T>
GENRNN_HD T lstm_hidden(const LstmGates<T>& a, T c) {
  return a.o * tanh_of(c);
}

template <class T>
struct LstmGrads {
  T pre_i, pre_f, pre_g, pre_o;  // gradients of the gate pre-activations
  T c_prev;
};

// dh: gradient reaching h_t; dc: gradient reaching c_t from step t + 1.
template <class T>
GENRNN_HD LstmGrads<T> lstm_backward(const LstmGates<T>& a, T c_prev, T c, T dh, T dc) {
  const T tanh_c = tanh_of(c);
  const T dc_total = dc + dh * a.o * (T(1) - tanh_c * tanh_c);
  return {dc_total * a.g * a.i * (T(1) - a.i), dc_total * c_prev * a.f * (T(1) - a.f),
          dc_total * a.i * (T(1) - a.g * a.g), dh * tanh_c * a.o * (T(1) - a.o), dc_total * a.f};
}

// The gates of unit (b, j) from both projections, as every LSTM variant sums them.
template <class Real>
GENRNN_HD LstmGates<Real> lstm_gates(const CellForward<Real>& a, size_t b, size_t j) {
  Real pre[4];
  for (int g = 0; g < 4; ++g) pre[g] = input_projection(a, b, j, g) + recurrent_projection(a, b, j, g, 4);
  return lstm_gates(pre[0], pre[1], pre[2], pre[3]);
}

struct Lstm : CellDefaults {
  static constexpr const char* name = "lstm";
  static constexpr const char* pytorch_module = "nn.LSTM";
  static constexpr const char* gate_order = "i,f,g,o";
  static constexpr int gates = 4;
  static constexpr int saved_blocks = 4;  // i, f, g, o
  static constexpr bool has_cell_state = true;
  static constexpr int cudnn_mode = kCudnnLstm;

  template <class Real>
  static GENRNN_HD void forward(const CellForward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden, u = b * a.c_stride + j;
    const auto state = lstm_gates(a, b, j);
    const Real c = lstm_cell(state, a.c_prev[u]);
    a.c[u] = c;
    a.h[b * a.h_stride + j] = lstm_hidden(state, c);
    if (Real* s = a.saved ? a.saved + b * saved_blocks * H + j : nullptr)
      s[0] = state.i, s[H] = state.f, s[2 * H] = state.g, s[3 * H] = state.o;
  }

  template <class Real>
  static GENRNN_HD void backward(const CellBackward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden, u = b * H + j;
    const Real* s = a.saved + b * saved_blocks * H + j;
    const LstmGates<Real> state{s[0], s[H], s[2 * H], s[3 * H]};
    const Real dh = a.d_out[b * a.d_out_stride + j] + a.dh_next[u];
    const auto grads = lstm_backward(state, a.c_prev[u], a.c[u], dh, a.dc[u]);
    Real* dgx = a.dgx + b * gates * H + j;
    Real* dgh = a.dgh + b * gates * H + j;
    dgx[0] = dgh[0] = grads.pre_i;
    dgx[H] = dgh[H] = grads.pre_f;
    dgx[2 * H] = dgh[2 * H] = grads.pre_g;
    dgx[3 * H] = dgh[3 * H] = grads.pre_o;
    a.dc[u] = grads.c_prev;
  }
};

}  // namespace genrnn::math
