#pragma once
// The recurrent cells' equations, exactly as PyTorch defines them (nn.LSTM, nn.GRU, nn.RNN with
// tanh), for one hidden unit of one stream. `x_*` are input projections W_ih x + b_ih, `h_*`
// recurrent projections W_hh h + b_hh. Shared by the CPU engine and the CUDA kernels.
#include "kernels/host_device.cuh"

namespace genrnn::math {

// ---- LSTM: gates i, f, g, o ----
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

// ---- GRU: gates r, z, n; b_hn stays inside the reset product ----
template <class T>
struct GruGates {
  T r, z, n;
  T h_n;  // W_hn h + b_hn, kept for backward
};

template <class T>
GENRNN_HD GruGates<T> gru_gates(T x_r, T x_z, T x_n, T h_r, T h_z, T h_n) {
  const T r = sigmoid(x_r + h_r);
  return {r, sigmoid(x_z + h_z), tanh_of(x_n + r * h_n), h_n};
}

template <class T>
GENRNN_HD T gru_hidden(const GruGates<T>& a, T h_prev) {
  return (T(1) - a.z) * a.n + a.z * h_prev;
}

template <class T>
struct GruGrads {
  T x_r, x_z, x_n;  // gradients of the input projections
  T h_r, h_z, h_n;  // gradients of the recurrent projections
  T h_prev;         // the direct path h_prev -> h (the W_hh path is added by the caller)
};

template <class T>
GENRNN_HD GruGrads<T> gru_backward(const GruGates<T>& a, T h_prev, T dh) {
  const T pre_n = dh * (T(1) - a.z) * (T(1) - a.n * a.n);
  const T pre_z = dh * (h_prev - a.n) * a.z * (T(1) - a.z);
  const T pre_r = pre_n * a.h_n * a.r * (T(1) - a.r);
  return {pre_r, pre_z, pre_n, pre_r, pre_z, pre_n * a.r, dh * a.z};
}

// ---- tanh RNN ----
template <class T>
GENRNN_HD T rnn_hidden(T pre) {
  return tanh_of(pre);
}

template <class T>
GENRNN_HD T rnn_backward(T h, T dh) {
  return dh * (T(1) - h * h);
}

}  // namespace genrnn::math
