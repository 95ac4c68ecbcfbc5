#pragma once
#include <vector>

namespace genrnn {

// The recurrent state of `batch` streams, layer-major: h[l][b][j] at (l * batch + b) * H + j.
// c is used by LSTM only (empty otherwise). An empty state means zeros.
struct RecurrentState {
  int batch = 0;
  std::vector<float> h;
  std::vector<float> c;
};

}  // namespace genrnn
