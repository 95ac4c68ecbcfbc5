#pragma once
// What every recurrent cell is made of (the cells themselves: kernels/cells/, listed in
// kernels/cells/cell_list.cuh): the arguments of one time step of one cell for one (stream b,
// hidden unit j) over strided rows, which the fused CUDA kernels run once per thread and the
// CPU engine once per loop iteration, so the reference and the GPU cannot drift apart; and the
// description a cell gives of its tensors and row stages.
#include <stddef.h>

#include <array>

#include "genrnn/config.hpp"
#include "genrnn/parameters.hpp"
#include "kernels/host_device.cuh"

namespace genrnn::math {

// A cell's bodies: `gates`, its forward (and backward) for one unit, and, for a cell with a cell
// row stage, `output`, which computes h' after it (and its backward, which runs first).
enum class CellStage { gates, output };

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
  const Real* c_normalized = nullptr;  // dense [batch][H]: the cell row stage's output (output stage)
};

template <class Real>
struct CellBackward {
  const Real* saved;  // as the forward wrote it
  const Real* h_prev;
  size_t h_prev_stride;
  const Real* c_prev;  // dense; cells with a c state only
  const Real* c;       // dense; cells with a c state only
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
  const Real* c_normalized = nullptr;  // dense [batch][H], as the forward's cell row stage wrote it
  Real* d_c_normalized = nullptr;      // dense [batch][H]: the output stage's gradient of it
};

// The projections of gate block g for unit (b, j): the input one (b_ih included) and the
// recurrent one with b_hh.
template <class Real>
GENRNN_HD Real input_projection(const CellForward<Real>& a, size_t b, size_t j, int g) {
  return a.gx[b * a.gx_stride + g * a.hidden + j];
}
template <class Real>
GENRNN_HD Real recurrent_projection(const CellForward<Real>& a, size_t b, size_t j, int g, int gates) {
  return a.gh[b * gates * a.hidden + g * a.hidden + j] + a.b_hh[g * a.hidden + j];
}

// One tensor of a layer: "rnn.<name>_l<k>" in checkpoints, its shape in the layer's sizes (G*H
// rows; the layer's input or H columns), and its value in a new model.
enum class TensorShape { gates_by_input, gates_by_hidden, gates, hidden };
struct LayerTensor {
  const char* name;
  TensorShape shape;
  TensorInit init;
};
// PyTorch's four, which every cell has, first and in this order (LayerOffsets' accessors).
constexpr std::array<LayerTensor, 4> kPytorchLayerTensors = {{
    {"weight_ih", TensorShape::gates_by_input, TensorInit::uniform},
    {"weight_hh", TensorShape::gates_by_hidden, TensorInit::uniform},
    {"bias_ih", TensorShape::gates, TensorInit::uniform},
    {"bias_hh", TensorShape::gates, TensorInit::uniform},
}};

// Layer normalisations (over whole rows, so outside the per-unit bodies) that the layer driver
// runs around a cell's bodies; each names the indices of its tensors in the cell's list, -1:
// none. `projections`: LN(W_ih x) * input_gain + b_ih and LN(W_hh h) * recurrent_gain, over
// the G*H values of a stream, before the forward body. `cell`: LN(c') * cell_gain + cell_bias
// over the H values of c', between the forward body (gates and c') and the output body (h).
struct RowStages {
  int input_gain = -1, recurrent_gain = -1;
  int cell_gain = -1, cell_bias = -1;
  constexpr bool projections() const { return input_gain >= 0; }
  constexpr bool cell() const { return cell_gain >= 0; }
};

// cudnnRNNMode_t's values, fixed by cuDNN's API (checked where cuDNN is included).
constexpr int kNoCudnnMode = -1, kCudnnRnnTanh = 1, kCudnnLstm = 2, kCudnnGru = 3;

// What a cell that says nothing else is: PyTorch's four tensors, no c state, no direct path,
// no row stages, no cuDNN mode. A cell type derives from it and declares `name`,
// `pytorch_module`, `gate_order`, `gates`, `saved_blocks` (H-wide blocks per stream that a
// training step keeps for backward), what differs from here, and its bodies: `forward` and
// `backward` for one unit, and with a cell row stage `output` and `output_backward`.
struct CellDefaults {
  static constexpr bool has_cell_state = false;  // a c state beside h (LSTM)
  static constexpr bool direct_path = false;     // h_prev reaches h also without W_hh (GRU's z * h_prev)
  static constexpr int cudnn_mode = kNoCudnnMode;
  static constexpr auto tensors = kPytorchLayerTensors;
  static constexpr RowStages row_stages{};
};

}  // namespace genrnn::math
