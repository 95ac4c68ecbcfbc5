// The fused recurrent-cell kernels: one thread per (stream, hidden unit) reads that unit's gate
// pre-activations (consecutive threads take consecutive units, so every access is coalesced),
// applies kernels/cell_math.cuh and writes the new state, in the same order and with the same
// saved values as the CPU engine's run_cells and backward_cells (src/cpu/network.hpp).
#include <cstddef>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "kernels/block_reduce.cuh"
#include "kernels/cell_math.cuh"
#include "kernels/cell_ops.hpp"

namespace genrnn::kernels {
namespace {

// The cell a kernel is compiled for: types rather than CellType values, so that profilers show
// fused_cell_forward<Lstm> instead of fused_cell_forward<(genrnn::CellType)0>.
struct Lstm {
  static constexpr int kGates = 4;
};
struct Gru {
  static constexpr int kGates = 3;
};
struct Rnn {
  static constexpr int kGates = 1;
};

// Blocks of `hidden` values per row of `saved`: LSTM i,f,g,o; GRU r,z,n,h_n (unused by the RNN).
constexpr int kSavedBlocks = 4;

// A kernel's arguments, in the launcher's order; strides are validated non-negative.
struct ForwardArgs {
  const float* gx;
  int gx_stride;
  const float* gh;
  const float* b_hh;
  const float* h_prev;
  int h_prev_stride;
  const float* c_prev;
  float* h;
  int h_stride;
  float* c;
  float* saved;
  int hidden;
  std::size_t units;  // batch * hidden
};

struct BackwardArgs {
  const float* saved;
  const float* h_prev;
  int h_prev_stride;
  const float* c_prev;
  const float* c;
  const float* h;
  int h_stride;
  const float* d_out;
  int d_out_stride;
  const float* dh_next;
  float* dc;
  float* dgx;
  float* dgh;
  float* dh_direct;
  int hidden;
  std::size_t units;
};

template <class Cell>
__global__ void fused_cell_forward(ForwardArgs a) {
  constexpr int G = Cell::kGates;
  const std::size_t H = a.hidden;
  for (std::size_t u = grid_thread_index(); u < a.units; u += grid_thread_count()) {
    const std::size_t b = u / H, j = u % H;
    // The input and recurrent parts stay apart: the GRU's n gate needs them separately.
    float x[G], r[G];
#pragma unroll
    for (int g = 0; g < G; ++g) {
      x[g] = a.gx[b * a.gx_stride + g * H + j];
      r[g] = a.gh[b * G * H + g * H + j] + a.b_hh[g * H + j];
    }
    float* h = a.h + b * a.h_stride + j;
    if constexpr (std::is_same_v<Cell, Lstm>) {
      const auto gates = math::lstm_gates(x[0] + r[0], x[1] + r[1], x[2] + r[2], x[3] + r[3]);
      const float c = math::lstm_cell(gates, a.c_prev[u]);
      a.c[u] = c;
      *h = math::lstm_hidden(gates, c);
      if (a.saved) {
        float* s = a.saved + b * kSavedBlocks * H + j;
        s[0] = gates.i, s[H] = gates.f, s[2 * H] = gates.g, s[3 * H] = gates.o;
      }
    } else if constexpr (std::is_same_v<Cell, Gru>) {
      const auto gates = math::gru_gates(x[0], x[1], x[2], r[0], r[1], r[2]);
      *h = math::gru_hidden(gates, a.h_prev[b * a.h_prev_stride + j]);
      if (a.saved) {
        float* s = a.saved + b * kSavedBlocks * H + j;
        s[0] = gates.r, s[H] = gates.z, s[2 * H] = gates.n, s[3 * H] = gates.h_n;
      }
    } else {
      *h = math::rnn_hidden(x[0] + r[0]);
    }
  }
}

template <class Cell>
__global__ void fused_cell_backward(BackwardArgs a) {
  constexpr int G = Cell::kGates;
  const std::size_t H = a.hidden;
  for (std::size_t u = grid_thread_index(); u < a.units; u += grid_thread_count()) {
    const std::size_t b = u / H, j = u % H;
    const float dh = a.d_out[b * a.d_out_stride + j] + a.dh_next[u];
    float* dgx = a.dgx + b * G * H + j;
    float* dgh = a.dgh + b * G * H + j;
    if constexpr (std::is_same_v<Cell, Lstm>) {
      const float* s = a.saved + b * kSavedBlocks * H + j;
      const math::LstmGates<float> gates{s[0], s[H], s[2 * H], s[3 * H]};
      const auto grads = math::lstm_backward(gates, a.c_prev[u], a.c[u], dh, a.dc[u]);
      dgx[0] = dgh[0] = grads.pre_i;
      dgx[H] = dgh[H] = grads.pre_f;
      dgx[2 * H] = dgh[2 * H] = grads.pre_g;
      dgx[3 * H] = dgh[3 * H] = grads.pre_o;
      a.dc[u] = grads.c_prev;  // in place: only this thread reads or writes dc[u]
    } else if constexpr (std::is_same_v<Cell, Gru>) {
      const float* s = a.saved + b * kSavedBlocks * H + j;
      const math::GruGates<float> gates{s[0], s[H], s[2 * H], s[3 * H]};
      const auto grads = math::gru_backward(gates, a.h_prev[b * a.h_prev_stride + j], dh);
      dgx[0] = grads.x_r, dgx[H] = grads.x_z, dgx[2 * H] = grads.x_n;
      dgh[0] = grads.h_r, dgh[H] = grads.h_z, dgh[2 * H] = grads.h_n;
      a.dh_direct[u] = grads.h_prev;
    } else {
      dgx[0] = dgh[0] = math::rnn_backward(a.h[b * a.h_stride + j], dh);
    }
  }
}

// Calls body(Lstm{}), body(Gru{}) or body(Rnn{}): the one switch from the runtime cell type to
// the kernels' compile-time one.
template <class Body>
void with_cell(CellType cell, const char* launcher, Body&& body) {
  switch (cell) {
    case CellType::lstm: return body(Lstm{});
    case CellType::gru: return body(Gru{});
    case CellType::rnn: return body(Rnn{});
  }
  throw Error(std::string("kernels::") + launcher + ": unknown cell type " + std::to_string(int(cell)));
}

struct RowStride {
  const char* name;
  int stride;
  long long width;  // floats of one row
};

// Throws on a negative size, or a stride shorter than its row (rows would overlap).
void require_shape(const char* launcher, const CellStep& step, std::initializer_list<RowStride> strides) {
  require_non_negative(launcher, {step.batch, step.hidden});
  for (const RowStride& row : strides)
    if (row.stride < row.width)
      throw Error(std::string("kernels::") + launcher + ": " + row.name + " " + std::to_string(row.stride) +
                  " is shorter than its row of " + std::to_string(row.width) + " floats");
}

struct Operand {
  const char* name;
  const void* pointer;
};

// Throws when a buffer the cell uses is null: inside the kernel it would be an illegal address,
// which leaves the whole CUDA context unusable.
void require_operands(const char* launcher, std::initializer_list<Operand> operands) {
  for (const Operand& operand : operands)
    if (!operand.pointer) throw Error(std::string("kernels::") + launcher + ": " + operand.name + " is null");
}

}  // namespace

void cell_forward(const CellStep& step, const float* gx, int gx_stride, const float* gh, const float* b_hh,
                  const float* h_prev, int h_prev_stride, const float* c_prev, float* h, int h_stride, float* c,
                  float* saved, cudaStream_t stream) {
  constexpr const char* kLauncher = "cell_forward";
  with_cell(step.cell, kLauncher, [&](auto cell) {
    using Cell = decltype(cell);
    const long long H = step.hidden;
    require_shape(kLauncher, step,
                  {{"gx_stride", gx_stride, Cell::kGates * H}, {"h_prev_stride", h_prev_stride, H},
                   {"h_stride", h_stride, H}});
    const std::size_t units = std::size_t(step.batch) * step.hidden;
    if (units == 0) return;
    require_operands(kLauncher, {{"gx", gx}, {"gh", gh}, {"b_hh", b_hh}, {"h", h}});
    if constexpr (std::is_same_v<Cell, Lstm>) require_operands(kLauncher, {{"c_prev", c_prev}, {"c", c}});
    if constexpr (std::is_same_v<Cell, Gru>) require_operands(kLauncher, {{"h_prev", h_prev}});
    const ForwardArgs args{gx, gx_stride, gh, b_hh, h_prev, h_prev_stride, c_prev, h, h_stride, c, saved,
                           step.hidden, units};
    fused_cell_forward<Cell><<<grid_blocks(units), kThreadsPerBlock, 0, stream>>>(args);
  });
}

void cell_backward(const CellStep& step, const float* saved, const float* h_prev, int h_prev_stride,
                   const float* c_prev, const float* c, const float* h, int h_stride, const float* d_out,
                   int d_out_stride, const float* dh_next, float* dc, float* dgx, float* dgh, float* dh_direct,
                   cudaStream_t stream) {
  constexpr const char* kLauncher = "cell_backward";
  with_cell(step.cell, kLauncher, [&](auto cell) {
    using Cell = decltype(cell);
    const long long H = step.hidden;
    require_shape(kLauncher, step,
                  {{"h_prev_stride", h_prev_stride, H}, {"h_stride", h_stride, H}, {"d_out_stride", d_out_stride, H}});
    const std::size_t units = std::size_t(step.batch) * step.hidden;
    if (units == 0) return;
    require_operands(kLauncher, {{"d_out", d_out}, {"dh_next", dh_next}, {"dgx", dgx}, {"dgh", dgh}});
    if constexpr (std::is_same_v<Cell, Lstm>)
      require_operands(kLauncher, {{"saved", saved}, {"c_prev", c_prev}, {"c", c}, {"dc", dc}});
    if constexpr (std::is_same_v<Cell, Gru>)
      require_operands(kLauncher, {{"saved", saved}, {"h_prev", h_prev}, {"dh_direct", dh_direct}});
    if constexpr (std::is_same_v<Cell, Rnn>) require_operands(kLauncher, {{"h", h}});
    const BackwardArgs args{saved, h_prev, h_prev_stride, c_prev, c, h, h_stride, d_out, d_out_stride, dh_next,
                            dc, dgx, dgh, dh_direct, step.hidden, units};
    fused_cell_backward<Cell><<<grid_blocks(units), kThreadsPerBlock, 0, stream>>>(args);
  });
}

}  // namespace genrnn::kernels
