#include "core/cell_table.hpp"

#include "genrnn/error.hpp"
#include "kernels/cell_step.cuh"

namespace genrnn {

namespace {

// cudnnRNNMode_t's values, fixed by cuDNN's API (checked where cuDNN is included).
constexpr int kCudnnRnnTanh = 1, kCudnnLstm = 2, kCudnnGru = 3;
constexpr std::array<const char*, 4> kPytorchLayerTensors = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};

template <class Cell>
CellDescription describe(CellType type, const char* name, const char* module, const char* gate_order,
                         int cudnn_mode) {
  return {type,
          name,
          module,
          gate_order,
          Cell::gates,
          Cell::saved_blocks,
          Cell::has_cell_state,
          Cell::direct_path,
          kPytorchLayerTensors,
          cudnn_mode};
}

}  // namespace

const std::vector<CellDescription>& cell_table() {
  static const std::vector<CellDescription> table = {
      describe<math::Lstm>(CellType::lstm, "lstm", "nn.LSTM", "i,f,g,o", kCudnnLstm),
      describe<math::Gru>(CellType::gru, "gru", "nn.GRU", "r,z,n", kCudnnGru),
      describe<math::Rnn>(CellType::rnn, "rnn", "nn.RNN (tanh)", "one block", kCudnnRnnTanh),
  };
  return table;
}

const CellDescription& describe_cell(CellType cell) {
  for (const CellDescription& description : cell_table())
    if (description.type == cell) return description;
  throw Error("unknown cell type " + std::to_string(static_cast<int>(cell)));
}

}  // namespace genrnn
