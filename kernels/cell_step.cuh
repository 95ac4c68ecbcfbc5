#pragma once
// One time step of one recurrent cell for one (stream b, hidden unit j), over strided rows: the
// body that the fused CUDA kernels run once per thread and the CPU engine once per loop
// iteration, so the reference and the GPU cannot drift apart. The equations are cell_math's.
#include <stddef.h>

#include <string>
#include <type_traits>

#include "genrnn/config.hpp"
#include "genrnn/error.hpp"
#include "kernels/cell_math.cuh"

namespace genrnn::math {

// The cells as types, for code compiled once per cell. `saved_blocks`: blocks of H values per
// stream that a training step keeps for backward (LSTM i,f,g,o; GRU r,z,n,h_n; the tanh RNN
// none: its output is enough). `direct_path`: h_prev also reaches h without W_hh (GRU's
// z * h_prev), so backward adds that gradient to W_hh's. src/core/cell_table describes the same
// cells at run time.
struct Lstm {
  static constexpr const char* name = "Lstm";
  static constexpr int gates = 4;
  static constexpr int saved_blocks = 4;
  static constexpr bool has_cell_state = true;
  static constexpr bool direct_path = false;
};
struct Gru {
  static constexpr const char* name = "Gru";
  static constexpr int gates = 3;
  static constexpr int saved_blocks = 4;
  static constexpr bool has_cell_state = false;
  static constexpr bool direct_path = true;
};
struct Rnn {
  static constexpr const char* name = "Rnn";
  static constexpr int gates = 1;
  static constexpr int saved_blocks = 0;
  static constexpr bool has_cell_state = false;
  static constexpr bool direct_path = false;
};

// Rows are `stride` values apart; a dense [batch][width] matrix has stride = width.
template <class Real>
struct CellForward {
  const Real* gx;  // input projections W_ih x + b_ih, [batch][G*H]
  size_t gx_stride;
  const Real* gh;  // recurrent projections W_hh h_prev WITHOUT bias, dense [batch][G*H]
  const Real* b_hh;
  const Real* h_prev;
  size_t h_prev_stride;
  const Real* c_prev;  // [batch][H]; cells with a c state only
  Real* h;
  size_t h_stride;
  Real* c;          // [batch][H]; cells with a c state only
  size_t c_stride;  // of c_prev and c
  Real* saved;      // dense [batch][saved_blocks * H], or null (inference)
  size_t hidden;
};

template <class Real>
struct CellBackward {
  const Real* saved;  // as the forward wrote it
  const Real* h_prev;
  size_t h_prev_stride;
  const Real* c_prev;  // dense; LSTM only
  const Real* c;       // dense; LSTM only
  const Real* h;       // the step's output; the tanh RNN only
  size_t h_stride;
  const Real* d_out;  // the gradient reaching h from above
  size_t d_out_stride;
  const Real* dh_next;  // dense [batch][H]: the gradient reaching h from step t + 1
  Real* dc;             // dense: in, the gradient reaching c from t + 1; out, the one reaching c_prev
  Real* dgx;            // dense [batch][G*H]: gradients of the input projections
  Real* dgh;            // dense [batch][G*H]: of the recurrent ones (GRU's n block times r)
  Real* dh_direct;      // GRU: z * dh, the path h_prev -> h that bypasses W_hh; may be dh_next
  size_t hidden;
};

template <class Cell, class Real>
GENRNN_HD void cell_forward_unit(const CellForward<Real>& a, size_t b, size_t j) {
  constexpr int G = Cell::gates;
  const size_t H = a.hidden, u = b * a.c_stride + j;
  // The input and recurrent parts stay apart: the GRU's n gate needs them separately.
  Real x[G], r[G];
  for (int g = 0; g < G; ++g) {
    x[g] = a.gx[b * a.gx_stride + g * H + j];
    r[g] = a.gh[b * G * H + g * H + j] + a.b_hh[g * H + j];
  }
  Real* h = a.h + b * a.h_stride + j;
  Real* s = a.saved ? a.saved + b * Cell::saved_blocks * H + j : nullptr;
  if constexpr (std::is_same_v<Cell, Lstm>) {
    const auto gates = lstm_gates(x[0] + r[0], x[1] + r[1], x[2] + r[2], x[3] + r[3]);
    const Real c = lstm_cell(gates, a.c_prev[u]);
    a.c[u] = c;
    *h = lstm_hidden(gates, c);
    if (s) s[0] = gates.i, s[H] = gates.f, s[2 * H] = gates.g, s[3 * H] = gates.o;
  } else if constexpr (std::is_same_v<Cell, Gru>) {
    const auto gates = gru_gates(x[0], x[1], x[2], r[0], r[1], r[2]);
    *h = gru_hidden(gates, a.h_prev[b * a.h_prev_stride + j]);
    if (s) s[0] = gates.r, s[H] = gates.z, s[2 * H] = gates.n, s[3 * H] = gates.h_n;
  } else {
    *h = rnn_hidden(x[0] + r[0]);
  }
}

template <class Cell, class Real>
GENRNN_HD void cell_backward_unit(const CellBackward<Real>& a, size_t b, size_t j) {
  constexpr int G = Cell::gates;
  const size_t H = a.hidden, u = b * H + j;
  // Read before any write: dh_direct may be dh_next (only this unit touches element u).
  const Real dh = a.d_out[b * a.d_out_stride + j] + a.dh_next[u];
  Real* dgx = a.dgx + b * G * H + j;
  Real* dgh = a.dgh + b * G * H + j;
  // Backward always has the forward's gates, for every cell that saves any (no test: the CPU's
  // loop over j then vectorises).
  const Real* s = Cell::saved_blocks > 0 ? a.saved + b * Cell::saved_blocks * H + j : nullptr;
  if constexpr (std::is_same_v<Cell, Lstm>) {
    const LstmGates<Real> gates{s[0], s[H], s[2 * H], s[3 * H]};
    const auto grads = lstm_backward(gates, a.c_prev[u], a.c[u], dh, a.dc[u]);
    dgx[0] = dgh[0] = grads.pre_i;
    dgx[H] = dgh[H] = grads.pre_f;
    dgx[2 * H] = dgh[2 * H] = grads.pre_g;
    dgx[3 * H] = dgh[3 * H] = grads.pre_o;
    a.dc[u] = grads.c_prev;
  } else if constexpr (std::is_same_v<Cell, Gru>) {
    const GruGates<Real> gates{s[0], s[H], s[2 * H], s[3 * H]};
    const auto grads = gru_backward(gates, a.h_prev[b * a.h_prev_stride + j], dh);
    dgx[0] = grads.x_r, dgx[H] = grads.x_z, dgx[2 * H] = grads.x_n;
    dgh[0] = grads.h_r, dgh[H] = grads.h_z, dgh[2 * H] = grads.h_n;
    a.dh_direct[u] = grads.h_prev;
  } else {
    dgx[0] = dgh[0] = rnn_backward(a.h[b * a.h_stride + j], dh);
  }
}

// Calls body(Lstm{}), body(Gru{}) or body(Rnn{}): the one switch from the run-time cell type
// to the compile-time one (host code).
template <class Body>
void with_cell(CellType cell, Body&& body) {
  switch (cell) {
    case CellType::lstm: return body(Lstm{});
    case CellType::gru: return body(Gru{});
    case CellType::rnn: return body(Rnn{});
  }
  throw Error("unknown cell type " + std::to_string(static_cast<int>(cell)));
}

}  // namespace genrnn::math
