#pragma once
// Host launchers of the fused recurrent-cell kernels (cell_kernels.cu): one layer, one time
// step, all streams; every gate nonlinearity and the state update in one pass, the same
// equations as kernels/cell_math.cuh (PyTorch's). Device pointers, row-major, queued on
// `stream`, no synchronization. Strides are in floats between consecutive streams' rows, so
// the rows may sit inside a larger (e.g. batch-major [batch][time][...]) buffer.
#include <cuda_runtime_api.h>

#include "genrnn/config.hpp"

namespace genrnn::kernels {

// Gate layout per row: LSTM i,f,g,o; GRU r,z,n; RNN one block; each block `hidden` wide.
struct CellStep {
  CellType cell = CellType::lstm;
  int batch = 0;
  int hidden = 0;
};

// gx: input projections W_ih x + b_ih of this step, [batch][G*H] with row stride gx_stride.
// gh: recurrent projections W_hh h_prev WITHOUT bias, [batch][G*H] dense; b_hh is added here.
// h_prev/h (stride h_stride), c_prev/c (dense [batch][H], LSTM only, else null).
// saved ([batch][4*H] dense, or null in inference): LSTM i,f,g,o; GRU r,z,n,h_n (h_n with b_hn).
void cell_forward(const CellStep& step, const float* gx, int gx_stride, const float* gh, const float* b_hh,
                  const float* h_prev, int h_prev_stride, const float* c_prev, float* h, int h_stride, float* c,
                  float* saved, cudaStream_t stream);

// The step's backward. dh = d_out (the gradient reaching h from above, stride d_out_stride) +
// dh_next (the recurrent gradient from step t + 1, dense [batch][H]). dc (LSTM) holds the
// gradient reaching c from step t + 1 and is overwritten with the one reaching c_prev.
// Writes dgx and dgh ([batch][G*H] dense; equal for LSTM and RNN; GRU's n block of dgh is
// multiplied by r) and, for GRU, dh_direct = z * dh ([batch][H], else may be null).
void cell_backward(const CellStep& step, const float* saved, const float* h_prev, int h_prev_stride,
                   const float* c_prev, const float* c, const float* h, int h_stride, const float* d_out,
                   int d_out_stride, const float* dh_next, float* dc, float* dgx, float* dgh, float* dh_direct,
                   cudaStream_t stream);

}  // namespace genrnn::kernels
