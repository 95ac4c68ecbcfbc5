#pragma once
// PyTorch's nn.RNN with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).
#include "kernels/cell_step.cuh"

namespace genrnn::math {

template <class T>
GENRNN_HD T rnn_hidden(T pre) {
  return tanh_of(pre);
}

template <class T>
GENRNN_HD T rnn_backward(T h, T dh) {
  return dh * (T(1) - h * h);
}

struct Rnn : CellDefaults {
  static constexpr const char* name = "rnn";
  static constexpr const char* pytorch_module = "nn.RNN (tanh)";
  static constexpr const char* gate_order = "one block";
  static constexpr int gates = 1;
  static constexpr int saved_blocks = 0;  // its output is enough
  static constexpr int cudnn_mode = kCudnnRnnTanh;

  template <class Real>
  static GENRNN_HD void forward(const CellForward<Real>& a, size_t b, size_t j) {
    a.h[b * a.h_stride + j] = rnn_hidden(input_projection(a, b, j, 0) + recurrent_projection(a, b, j, 0, gates));
  }

  template <class Real>
  static GENRNN_HD void backward(const CellBackward<Real>& a, size_t b, size_t j) {
    const size_t u = b * a.hidden + j;
    const Real dh = a.d_out[b * a.d_out_stride + j] + a.dh_next[u];
    a.dgx[u] = a.dgh[u] = rnn_backward(a.h[b * a.h_stride + j], dh);
  }
};

}  // namespace genrnn::math
