#pragma once
// The recurrent layers' algorithm, written once for the CPU reference (src/cpu) and the fused
// GPU layers (src/cuda), over a Backend that does the arithmetic on the host or the device:
// per layer one GEMM for every step's input projections (for one-hot input, a gather of
// W_ih's columns instead), then per step the recurrent GEMM and the fused cell; backward walks
// the steps in reverse through the backward cell, then one GEMM each for the weight gradients.
//
// Rows are time-major, r = t * batch + b, so every step's rows are dense and every layer's
// outputs are one matrix. Layer l keeps its outputs as [T + 1][batch][H], t = 0 being the
// initial state: rows 0 .. T*B-1 are every step's h_prev, rows B .. (T+1)*B-1 its outputs.
//
// A Backend provides:
//   using Real; template <class T> using Buffer (reserve(n): room for n, contents lost on
//   growth; data()); template <class T> Buffer<T> buffer();
//   gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)  (row-major)
//   weight_gemm(trans_w, m, n, k, a, lda, w, ldw, beta, c, ldc)  C = A op(W) + beta C, beta 0 or 1,
//       W one of `weights`' matrices: the host keeps it packed until told the weights changed
//   copy(to, from, n); zero(to, n); add_bias_rows(matrix, bias, rows, cols);
//   add_column_sums(matrix, rows, cols, out)                   out[c] += sum over rows
//   gather_columns(weight, columns, bias, ids, rows, width, out)   out[r][g] = weight[g][ids[r]] + bias[g]
//   scatter_add_columns(grads, ids, rows, width, weight_grad, columns)  weight_grad[g][ids[r]] += grads[r][g]
//   cell_forward(cell, stage, batch, math::CellForward<Real>)
//   cell_backward(cell, stage, batch, math::CellBackward<Real>)
//   dropout(in, out, n, math::DropoutMask, layer)             out[e] = in[e] * dropout_scale(.., layer, e)
//   layer_norm, layer_norm_backward, add_column_products     as kernels/ops.hpp says (a cell's row stages)
//
// A cell's row stages (kernels/cell_step.cuh's RowStages) are layer normalisations over whole
// rows: of each step's input and recurrent projections before the cell's forward body, and of c'
// between its forward and output bodies. Training keeps each one's x̂ and 1/sigma per row for
// backward, which runs them in reverse: gains' and biases' gradients as column sums over every
// step at once.
#include <cstddef>
#include <vector>

#include "core/cell_table.hpp"
#include "engine/layer_input.hpp"
#include "genrnn/config.hpp"
#include "genrnn/parameters.hpp"
#include "kernels/cell_step.cuh"
#include "kernels/dropout_math.cuh"

namespace genrnn {

template <class Backend>
class LayerDriver {
 public:
  using Real = typename Backend::Real;

  using Input = LayerInput<Real>;

  // `layers`: where each layer's tensors start in the `weights` that the calls receive (and
  // their gradients in `weight_gradients`), and its input width (for one-hot input, V).
  LayerDriver(Backend& backend, CellType cell, int hidden, std::vector<LayerOffsets> layers)
      : backend_(backend),
        cell_(describe_cell(cell)),
        stages_(cell_.row_stages),
        layers_(std::move(layers)),
        H_(hidden),
        GH_(static_cast<std::size_t>(cell_.gates) * hidden),
        gx_(backend.template buffer<Real>()),
        gh_(backend.template buffer<Real>()),
        dgx_(backend.template buffer<Real>()),
        dgh_(backend.template buffer<Real>()),
        dgh_raw_(backend.template buffer<Real>()),
        dh_next_(backend.template buffer<Real>()),
        dc_(backend.template buffer<Real>()),
        d_c_normalized_(backend.template buffer<Real>()),
        d_lower_(backend.template buffer<Real>()) {
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      for (auto* per_layer : {&outputs_, &cells_, &saved_, &dropped_})
        per_layer->push_back(backend.template buffer<Real>());
      normalized_.emplace_back(backend);
    }
  }

  int layer_count() const { return static_cast<int>(layers_.size()); }

  // Runs the layers over `batch` streams of `seq_len` steps from h0/c0 ([layers][batch][H]; c
  // only for cells with a c state) and writes the final state into hT/cT, which may be h0/c0
  // (a layer reads its initial state before it writes its final one). A training forward keeps
  // what backward needs and applies `dropout` between the layers (never after the last).
  void forward(int batch, int seq_len, const Input& input, const Real* weights, const Real* h0, const Real* c0,
               Real* hT, Real* cT, bool training, const math::DropoutMask& dropout) {
    reserve(batch, seq_len, training);
    training_ = training;
    dropout_ = training ? dropout : math::DropoutMask{};
    const std::size_t BH = state_rows(), rows = this->rows();
    for (int l = 0; l < layer_count(); ++l) {
      const LayerOffsets& w = layers_[l];
      Real* out = outputs_[l].data();
      Real* cell = cell_.has_cell_state ? cells_[l].data() : nullptr;
      backend_.copy(out, h0 + l * BH, BH);
      if (cell) backend_.copy(cell, c0 + l * BH, BH);
      project_inputs(l, input, weights);
      for (int t = 0; t < seq_len_; ++t) {
        backend_.weight_gemm(true, batch_, int(GH_), H_, out + t * BH, H_, weights + w.weight_hh(), H_, Real(0),
                             gh_.data(), int(GH_));
        if (stages_.projections())
          normalize(gh_.data(), batch_, GH_, tensor(weights, l, stages_.recurrent_gain), nullptr, gh_.data(),
                    normalized_[l].recurrent, t);
        math::CellForward<Real> step{gx_.data() + t * batch_ * GH_,
                                     GH_,
                                     gh_.data(),
                                     weights + w.bias_hh(),
                                     out + t * BH,
                                     std::size_t(H_),
                                     cell ? cell + t * BH : nullptr,
                                     out + (t + 1) * BH,
                                     std::size_t(H_),
                                     cell ? cell + (t + 1) * BH : nullptr,
                                     std::size_t(H_),
                                     training ? saved_[l].data() + t * batch_ * saved_width() : nullptr,
                                     std::size_t(H_)};
        backend_.cell_forward(cell_.type, math::CellStage::gates, batch_, step);
        if (!stages_.cell()) continue;
        step.c_normalized = normalized_[l].cell_output.data() + t * BH;
        normalize(cell + (t + 1) * BH, batch_, H_, tensor(weights, l, stages_.cell_gain),
                  tensor(weights, l, stages_.cell_bias), normalized_[l].cell_output.data() + t * BH,
                  normalized_[l].cell, t);
        backend_.cell_forward(cell_.type, math::CellStage::output, batch_, step);
      }
      backend_.copy(hT + l * BH, out + seq_len_ * BH, BH);
      if (cell) backend_.copy(cT + l * BH, cell + seq_len_ * BH, BH);
      if (dropout_after(l)) backend_.dropout(out + BH, dropped_[l].data(), rows * H_, dropout_, l);
    }
  }

  // The last layer's outputs of the last forward: [T][B][H].
  const Real* outputs() const { return outputs_.back().data() + state_rows(); }

  // After a training forward on the same input and weights. `d_outputs` ([T][B][H]) is the
  // gradient reaching the last layer's outputs; none reaches the final state (truncated BPTT).
  // Adds every layer's weight gradients into `weight_gradients`, and writes the gradient of
  // dense input rows into `d_input` ([T * B][input]) unless it is null.
  void backward(const Input& input, const Real* weights, const Real* d_outputs, Real* weight_gradients, Real* d_input) {
    const std::size_t BH = state_rows(), rows = this->rows();
    const int n = static_cast<int>(rows), G = static_cast<int>(GH_);
    for (int l = layer_count() - 1; l >= 0; --l) {
      const LayerOffsets& w = layers_[l];
      const Real* out = outputs_[l].data();
      const Real* cell = cell_.has_cell_state ? cells_[l].data() : nullptr;
      const Real* d_out = l == layer_count() - 1 ? d_outputs : d_lower_.data();
      const RowStageBuffers& kept = normalized_[l];
      // The gradient reaching W_hh h: dgh, or through the recurrent normalisation dgh_raw.
      Real* d_recurrent = stages_.projections() ? dgh_raw_.data() : dgh_.data();
      backend_.zero(dh_next_.data(), BH);
      if (cell) backend_.zero(dc_.data(), BH);
      for (int t = seq_len_ - 1; t >= 0; --t) {
        Real* dgh = dgh_.data() + t * batch_ * GH_;
        const math::CellBackward<Real> step{saved_[l].data() + t * batch_ * saved_width(),
                                            out + t * BH,
                                            std::size_t(H_),
                                            cell ? cell + t * BH : nullptr,
                                            cell ? cell + (t + 1) * BH : nullptr,
                                            out + (t + 1) * BH,
                                            std::size_t(H_),
                                            d_out + t * BH,
                                            std::size_t(H_),
                                            dh_next_.data(),
                                            cell ? dc_.data() : nullptr,
                                            dgx_.data() + t * batch_ * GH_,
                                            dgh,
                                            cell_.direct_path ? dh_next_.data() : nullptr,
                                            std::size_t(H_),
                                            stages_.cell() ? kept.cell_output.data() + t * BH : nullptr,
                                            stages_.cell() ? d_c_normalized_.data() + t * BH : nullptr};
        if (stages_.cell()) {
          backend_.cell_backward(cell_.type, math::CellStage::output, batch_, step);
          backend_.layer_norm_backward(step.d_c_normalized, kept.cell.values.data() + t * BH,
                                       kept.cell.inv_std.data() + t * batch_, tensor(weights, l, stages_.cell_gain),
                                       batch_, H_, dc_.data(), true);
        }
        backend_.cell_backward(cell_.type, math::CellStage::gates, batch_, step);
        if (stages_.projections())
          backend_.layer_norm_backward(
              dgh, kept.recurrent.values.data() + t * batch_ * GH_, kept.recurrent.inv_std.data() + t * batch_,
              tensor(weights, l, stages_.recurrent_gain), batch_, G, d_recurrent + t * batch_ * GH_, false);
        // The recurrent path to h_{t-1}: through W_hh, plus the direct path the cell left in
        // dh_next. Nothing flows into the initial state.
        if (t > 0)
          backend_.weight_gemm(false, batch_, H_, G, d_recurrent + t * batch_ * GH_, G, weights + w.weight_hh(), H_,
                               Real(cell_.direct_path ? 1 : 0), dh_next_.data(), H_);
      }
      // All steps at once: dW_hh += d_recurrent^T h_prev, the biases and gains, dW_ih += dgx^T x
      // (dgx taken back through the input normalisation first), and dx.
      backend_.gemm(true, false, G, H_, n, Real(1), d_recurrent, G, out, H_, Real(1), weight_gradients + w.weight_hh(),
                    H_);
      backend_.add_column_sums(dgh_.data(), n, G, weight_gradients + w.bias_hh());
      backend_.add_column_sums(dgx_.data(), n, G, weight_gradients + w.bias_ih());
      if (stages_.projections()) {
        backend_.add_column_products(dgh_.data(), kept.recurrent.values.data(), n, G,
                                     weight_gradients + w.tensors[stages_.recurrent_gain]);
        backend_.add_column_products(dgx_.data(), kept.input.values.data(), n, G,
                                     weight_gradients + w.tensors[stages_.input_gain]);
        backend_.layer_norm_backward(dgx_.data(), kept.input.values.data(), kept.input.inv_std.data(),
                                     tensor(weights, l, stages_.input_gain), n, G, dgx_.data(), false);
      }
      if (stages_.cell()) {
        backend_.add_column_products(d_c_normalized_.data(), kept.cell.values.data(), n, H_,
                                     weight_gradients + w.tensors[stages_.cell_gain]);
        backend_.add_column_sums(d_c_normalized_.data(), n, H_, weight_gradients + w.tensors[stages_.cell_bias]);
      }
      if (l == 0 && input.ids) {
        backend_.scatter_add_columns(dgx_.data(), input.ids, n, G, weight_gradients + w.weight_ih(), w.input_size);
        continue;  // nothing consumes the gradient of one-hot input
      }
      backend_.gemm(true, false, G, w.input_size, n, Real(1), dgx_.data(), G, layer_input(l, input), w.input_size,
                    Real(1), weight_gradients + w.weight_ih(), w.input_size);
      Real* dx = l > 0 ? d_lower_.data() : d_input;
      if (!dx) continue;
      backend_.weight_gemm(false, n, w.input_size, G, dgx_.data(), G, weights + w.weight_ih(), w.input_size, Real(0),
                           dx, w.input_size);
      if (l > 0 && dropout_after(l - 1)) backend_.dropout(dx, dx, rows * H_, dropout_, l - 1);
    }
  }

 private:
  template <class T>
  using Buffer = typename Backend::template Buffer<T>;

  // A layer norm's x̂ ([rows][width]) and 1/sigma ([rows]), kept by a training forward.
  struct Normalized {
    explicit Normalized(Backend& backend)
        : values(backend.template buffer<Real>()), inv_std(backend.template buffer<Real>()) {}
    void reserve(std::size_t rows, std::size_t width) {
      values.reserve(rows * width);
      inv_std.reserve(rows);
    }
    Buffer<Real> values, inv_std;
  };
  // One layer's row stages: what each normalisation keeps, and the cell's normalised c'.
  struct RowStageBuffers {
    explicit RowStageBuffers(Backend& backend)
        : input(backend), recurrent(backend), cell(backend), cell_output(backend.template buffer<Real>()) {}
    Normalized input, recurrent, cell;
    Buffer<Real> cell_output;  // [t][b][H]: LN(c') * gain + bias, what the output body reads
  };

  std::size_t rows() const { return static_cast<std::size_t>(batch_) * seq_len_; }
  std::size_t state_rows() const { return static_cast<std::size_t>(batch_) * H_; }  // one step's h
  std::size_t saved_width() const { return static_cast<std::size_t>(cell_.saved_blocks) * H_; }
  bool dropout_after(int l) const { return dropout_.probability > 0 && l + 1 < layer_count(); }
  const Real* tensor(const Real* weights, int l, int index) const { return weights + layers_[l].tensors[index]; }

  // y = LN(x) * gain + bias over the `rows` rows of `width` values from step t on; a training
  // forward keeps x̂ and 1/sigma in `kept`.
  void normalize(const Real* x, int rows, std::size_t width, const Real* gain, const Real* bias, Real* y,
                 Normalized& kept, int t) {
    const std::size_t first = std::size_t(t) * batch_;
    backend_.layer_norm(x, rows, int(width), gain, bias, y, training_ ? kept.values.data() + first * width : nullptr,
                        training_ ? kept.inv_std.data() + first : nullptr);
  }

  void reserve(int batch, int seq_len, bool training) {
    batch_ = batch;
    seq_len_ = seq_len;
    const std::size_t rows = this->rows(), H = H_;
    for (int l = 0; l < layer_count(); ++l) {
      outputs_[l].reserve(rows * H + state_rows());
      if (cell_.has_cell_state) cells_[l].reserve(rows * H + state_rows());
      if (training) saved_[l].reserve(rows * saved_width());
      if (training && l + 1 < layer_count()) dropped_[l].reserve(rows * H);
      if (stages_.cell()) normalized_[l].cell_output.reserve(rows * H);
      if (!training) continue;
      if (stages_.projections()) normalized_[l].input.reserve(rows, GH_), normalized_[l].recurrent.reserve(rows, GH_);
      if (stages_.cell()) normalized_[l].cell.reserve(rows, H);
    }
    gx_.reserve(rows * GH_);
    gh_.reserve(batch_ * GH_);
    if (!training) return;
    dgx_.reserve(rows * GH_);
    dgh_.reserve(rows * GH_);
    if (stages_.projections()) dgh_raw_.reserve(rows * GH_);
    dh_next_.reserve(state_rows());
    dc_.reserve(state_rows());
    if (stages_.cell()) d_c_normalized_.reserve(rows * H);
    d_lower_.reserve(rows * H);
  }

  // What layer l reads: the input for l = 0, else the (dropped-out) outputs of l - 1.
  const Real* layer_input(int l, const Input& input) const {
    if (l == 0) return input.rows;
    if (dropout_after(l - 1)) return dropped_[l - 1].data();
    return outputs_[l - 1].data() + state_rows();
  }

  // gx = x W_ih^T + b_ih for every step at once (with the input normalisation: LN(x W_ih^T) *
  // gain + b_ih).
  void project_inputs(int l, const Input& input, const Real* weights) {
    const LayerOffsets& w = layers_[l];
    const int n = static_cast<int>(rows()), G = static_cast<int>(GH_);
    const Real* bias = stages_.projections() ? nullptr : weights + w.bias_ih();
    if (l == 0 && input.ids) {
      backend_.gather_columns(weights + w.weight_ih(), w.input_size, bias, input.ids, n, G, gx_.data());
    } else {
      backend_.weight_gemm(true, n, G, w.input_size, layer_input(l, input), w.input_size, weights + w.weight_ih(),
                           w.input_size, Real(0), gx_.data(), G);
      if (bias) backend_.add_bias_rows(gx_.data(), bias, n, G);
    }
    if (stages_.projections())
      normalize(gx_.data(), n, GH_, tensor(weights, l, stages_.input_gain), weights + w.bias_ih(), gx_.data(),
                normalized_[l].input, 0);
  }

  Backend& backend_;
  const CellDescription& cell_;
  math::RowStages stages_;
  std::vector<LayerOffsets> layers_;
  int H_;
  std::size_t GH_;
  int batch_ = 0, seq_len_ = 0;
  bool training_ = false;                    // of the last forward
  math::DropoutMask dropout_;                // of the last forward
  std::vector<Buffer<Real>> outputs_;        // [l][t + 1][b][H]
  std::vector<Buffer<Real>> cells_;          // [l][t + 1][b][H], cells with a c state
  std::vector<Buffer<Real>> saved_;          // [l][t][b][saved_width]
  std::vector<Buffer<Real>> dropped_;        // [l][t][b][H], the masked outputs of l < L - 1
  std::vector<RowStageBuffers> normalized_;  // [l], cells with row stages
  Buffer<Real> gx_, gh_;              // [r][G*H] this layer's input projections; [b][G*H] one step's recurrent ones
  Buffer<Real> dgx_, dgh_, dgh_raw_;  // [r][G*H]; dgh_raw_: dgh through the recurrent normalisation
  Buffer<Real> dh_next_, dc_;         // [b][H]
  Buffer<Real> d_c_normalized_;       // [r][H]: the gradient reaching the cell's normalised c'
  Buffer<Real> d_lower_;              // [r][H]: the gradient reaching the outputs of the layer below
};

}  // namespace genrnn
