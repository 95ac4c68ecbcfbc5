#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace genrnn {

// The cells by their positions in kernels/cells/cell_list.cuh (each described by its file there);
// parse_cell names every cell, including any listed there without a name here.
enum class CellType { lstm, gru, rnn, lnlstm };
enum class TokenizerKind { character, word };

// The shape of a model: PyTorch's Embedding(V, E) -> a recurrent cell (E or V, H, L) -> Linear(H, V).
struct ModelConfig {
  CellType cell = CellType::lstm;
  int num_layers = 1;
  int hidden_size = 64;
  int embedding_dim = 0;  // 0: one-hot input, as in the original lesson
  int vocab_size = 0;
  TokenizerKind tokenizer = TokenizerKind::character;

  // Gate blocks stacked in weight_ih / weight_hh: LSTM i,f,g,o = 4; GRU r,z,n = 3; RNN = 1.
  int gate_count() const;
  // Width of the first layer's input: E, or V for one-hot input.
  int input_size() const;
  // Throws Error naming the first field that is out of range.
  void validate() const;
};

std::string to_string(CellType cell);
std::string to_string(TokenizerKind kind);
CellType parse_cell(const std::string& name);                 // one of cell_names()
std::vector<std::string> cell_names();                        // every cell parse_cell takes
TokenizerKind parse_tokenizer_kind(const std::string& name);  // "char" | "word"

// The checkpoint's "genrnn.config" JSON string, and back (validated).
std::string config_to_json(const ModelConfig& config);
ModelConfig config_from_json(const std::string& json);

}  // namespace genrnn
