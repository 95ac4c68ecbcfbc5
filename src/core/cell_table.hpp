#pragma once
// Everything a recurrent cell is, at run time: the engines, the state code, the checkpoint
// layout and the generator ask this table instead of testing the cell type themselves. It is
// made from the cell types of kernels/cells/cell_list.cuh.
#include <vector>

#include "genrnn/config.hpp"
#include "kernels/cell_step.cuh"

namespace genrnn {

struct CellDescription {
  CellType type;
  const char* name;            // in checkpoints' config and on the command line
  const char* pytorch_module;  // the module whose tensors a checkpoint's rnn.* are
  const char* gate_order;      // the gate blocks of weight_ih and weight_hh, in PyTorch's order
  int gates;
  int saved_blocks;                              // H-wide blocks per stream and step that training keeps for backward
  bool has_cell_state;                           // a c state beside h (LSTM)
  bool direct_path;                              // h_prev reaches h also without W_hh (GRU's z * h_prev)
  std::vector<math::LayerTensor> layer_tensors;  // "rnn.<name>_l<k>", PyTorch's four first
  math::RowStages row_stages;                    // layer normalisations around the unit bodies
  int cudnn_mode;  // the cudnnRNNMode_t value that computes this cell, or math::kNoCudnnMode
};

const std::vector<CellDescription>& cell_table();
const CellDescription& describe_cell(CellType cell);
inline bool has_cell_state(const ModelConfig& config) { return describe_cell(config.cell).has_cell_state; }

}  // namespace genrnn
