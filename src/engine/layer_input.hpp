#pragma once

namespace genrnn {

// The first recurrent layer's input: dense rows [T * B][input] (time-major), or one token id
// per row for one-hot input, whose projection is a column of W_ih. Exactly one is set. The layer
// driver and the GPU's recurrent layers (src/cuda/recurrent_layers.hpp) take it as it is.
template <class Real>
struct LayerInput {
  const Real* rows = nullptr;
  const int* ids = nullptr;
};

}  // namespace genrnn
