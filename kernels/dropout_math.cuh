#pragma once
// Inverted dropout between layers, the same mask on the CPU and the GPU: element e of layer l's
// outputs at training step `step` is kept when a Philox draw keyed by `seed` is >= p, and then
// scaled by 1 / (1 - p). Backward multiplies the gradient by the same value.
#include <stdint.h>

#include "kernels/philox.cuh"

namespace genrnn::math {

// The masks of one training step: probability 0 is no dropout.
struct DropoutMask {
  float probability = 0;
  uint64_t seed = 0;
  uint64_t step = 0;
  // Data parallel: the layer's rows (t x streams x width) hold streams [first_stream,
  // first_stream + streams) of total_streams, and each element draws as the same element of the
  // whole batch's rows would, so that every process draws one process's masks. 0: the rows hold
  // the whole batch.
  uint32_t total_streams = 0;
  uint32_t first_stream = 0;
  uint32_t streams = 0;
  uint32_t width = 0;
};

// Element e of a slice's rows as an element of the whole batch's rows.
GENRNN_HD uint64_t batch_element(const DropoutMask& mask, uint64_t e) {
  if (mask.total_streams == 0) return e;
  const uint64_t row = e / mask.width, t = row / mask.streams, b = row % mask.streams;
  return (t * mask.total_streams + mask.first_stream + b) * mask.width + e % mask.width;
}

GENRNN_HD float dropout_scale(const DropoutMask& mask, int layer, uint64_t slice_element) {
  const uint64_t element = batch_element(mask, slice_element);
  const Philox4x32 counter = {{static_cast<uint32_t>(element / 4), static_cast<uint32_t>(layer),
                               static_cast<uint32_t>(mask.step), static_cast<uint32_t>(mask.step >> 32)}};
  const Philox4x32 bits =
      philox4x32_10(counter, static_cast<uint32_t>(mask.seed), static_cast<uint32_t>(mask.seed >> 32));
  return uniform_from_bits(bits.v[element % 4]) >= mask.probability ? 1.0f / (1.0f - mask.probability) : 0.0f;
}

}  // namespace genrnn::math
