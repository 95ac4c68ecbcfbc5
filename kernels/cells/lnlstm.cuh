#pragma once
// haste's layer-normalised LSTM in PyTorch's gate order (i, f, g, o), LN without affine over a
// stream's values: a = LN(W_ih x) * ln_ih_weight + b_ih + LN(W_hh h) * ln_hh_weight + b_hh;
// c' = f * c + i * g; h' = o * tanh(LN(c') * ln_cell_weight + ln_cell_bias); c' is carried.
// The layer normalisations are row stages (the layer driver's); the bodies are the LSTM's,
// with h' in an output body after the cell's normalisation.
#include "kernels/cells/lstm.cuh"

namespace genrnn::math {

struct LnLstm : CellDefaults {
  static constexpr const char* name = "lnlstm";
  static constexpr const char* pytorch_module = "LayerNormLSTM (tools/genrnn_model.py)";
  static constexpr const char* gate_order = "i,f,g,o";
  static constexpr int gates = 4;
  static constexpr int saved_blocks = 4;  // i, f, g, o
  static constexpr bool has_cell_state = true;
  static constexpr std::array<LayerTensor, 8> tensors = {{
      kPytorchLayerTensors[0],
      kPytorchLayerTensors[1],
      kPytorchLayerTensors[2],
      kPytorchLayerTensors[3],
      {"ln_ih_weight", TensorShape::gates, TensorInit::ones},
      {"ln_hh_weight", TensorShape::gates, TensorInit::ones},
      {"ln_cell_weight", TensorShape::hidden, TensorInit::ones},
      {"ln_cell_bias", TensorShape::hidden, TensorInit::zeros},
  }};
  static constexpr RowStages row_stages{4, 5, 6, 7};

  // The gates and c'; h' waits for the cell's normalisation.
  template <class Real>
  static GENRNN_HD void forward(const CellForward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden, u = b * a.c_stride + j;
    const auto state = lstm_gates(a, b, j);
    a.c[u] = lstm_cell(state, a.c_prev[u]);
    if (Real* s = a.saved ? a.saved + b * saved_blocks * H + j : nullptr)
      s[0] = state.i, s[H] = state.f, s[2 * H] = state.g, s[3 * H] = state.o;
  }

  // h' = o * tanh(LN(c') * gain + bias), o computed again from the projections (inference saves
  // no gates).
  template <class Real>
  static GENRNN_HD void output(const CellForward<Real>& a, size_t b, size_t j) {
    const Real o = sigmoid(input_projection(a, b, j, 3) + recurrent_projection(a, b, j, 3, gates));
    a.h[b * a.h_stride + j] = o * tanh_of(a.c_normalized[b * a.hidden + j]);
  }

  // Backward of output: the o gate's pre-activation, and the gradient reaching LN(c') * gain +
  // bias, which the driver takes through the normalisation into dc.
  template <class Real>
  static GENRNN_HD void output_backward(const CellBackward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden, u = b * H + j;
    const Real dh = a.d_out[b * a.d_out_stride + j] + a.dh_next[u];
    const Real o = a.saved[b * saved_blocks * H + 3 * H + j];
    const Real tanh_y = tanh_of(a.c_normalized[u]);
    a.dgx[b * gates * H + 3 * H + j] = a.dgh[b * gates * H + 3 * H + j] = dh * tanh_y * o * (Real(1) - o);
    a.d_c_normalized[u] = dh * o * (Real(1) - tanh_y * tanh_y);
  }

  // dc holds every gradient reaching c' (from t + 1 and through the normalisation).
  template <class Real>
  static GENRNN_HD void backward(const CellBackward<Real>& a, size_t b, size_t j) {
    const size_t H = a.hidden, u = b * H + j;
    const Real* s = a.saved + b * saved_blocks * H + j;
    const Real i = s[0], f = s[H], g = s[2 * H], dc = a.dc[u];
    Real* dgx = a.dgx + b * gates * H + j;
    Real* dgh = a.dgh + b * gates * H + j;
    dgx[0] = dgh[0] = dc * g * i * (Real(1) - i);
    dgx[H] = dgh[H] = dc * a.c_prev[u] * f * (Real(1) - f);
    dgx[2 * H] = dgh[2 * H] = dc * i * (Real(1) - g * g);
    a.dc[u] = dc * f;
  }
};

}  // namespace genrnn::math
