#pragma once
// PyTorch's nn.GRU: gates r, z, n; b_hn stays inside the reset product; h' = (1 - z) n + z h.
#include "kernels/cell_step.cuh"

namespace genrnn::math {

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

struct Gru : CellDefaults {
  static constexpr const char* name = "gru";
  static constexpr const char* pytorch_module = "nn.GRU";
  static constexpr const char* gate_order = "r,z,n";
  static constexpr int gates = 3;
  static constexpr int saved_blocks = 4;  // r, z, n, h_n
  static constexpr bool direct_path = true;
  static constexpr int cudnn_mode = kCudnnGru;

  // The input and recurrent parts stay apart: the n gate needs them separately.
  template <class Real>
  static GENRNN_HD void forward(const CellForward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden;
    Real x[gates], r[gates];
    for (int g = 0; g < gates; ++g) x[g] = input_projection(a, b, j, g), r[g] = recurrent_projection(a, b, j, g, gates);
    const auto state = gru_gates(x[0], x[1], x[2], r[0], r[1], r[2]);
    a.h[b * a.h_stride + j] = gru_hidden(state, a.h_prev[b * a.h_prev_stride + j]);
    if (Real* s = a.saved ? a.saved + b * saved_blocks * H + j : nullptr)
      s[0] = state.r, s[H] = state.z, s[2 * H] = state.n, s[3 * H] = state.h_n;
  }

  template <class Real>
  static GENRNN_HD void backward(const CellBackward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden, u = b * H + j;
    // Read before any write: dh_direct may be dh_next (only this unit touches element u).
    const Real dh = a.d_out[b * a.d_out_stride + j] + a.dh_next[u];
    const Real* s = a.saved + b * saved_blocks * H + j;
    const GruGates<Real> state{s[0], s[H], s[2 * H], s[3 * H]};
    const auto grads = gru_backward(state, a.h_prev[b * a.h_prev_stride + j], dh);
    Real* dgx = a.dgx + b * gates * H + j;
    Real* dgh = a.dgh + b * gates * H + j;
    dgx[0] = grads.x_r, dgx[H] = grads.x_z, dgx[2 * H] = grads.x_n;
    dgh[0] = grads.h_r, dgh[H] = grads.h_z, dgh[2 * H] = grads.h_n;
    a.dh_direct[u] = grads.h_prev;
  }
};

}  // namespace genrnn::math
