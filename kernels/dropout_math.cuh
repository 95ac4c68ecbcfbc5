#pragma once
// Inverted dropout between layers, the same mask on the CPU and the GPU: element e of layer l's
// outputs at training step `step` is kept when a Philox draw keyed by `seed` is >= p, and then
// scaled by 1 / (1 - p). Backward multiplies the gradient by the same value.
#include <stdint.h>

#include "kernels/philox.cuh"

namespace genrnn::math {

GENRNN_HD float dropout_scale(float probability, uint64_t seed, uint64_t step, int layer, uint64_t element) {
  const Philox4x32 counter = {{static_cast<uint32_t>(element / 4), static_cast<uint32_t>(layer),
                               static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32)}};
  const Philox4x32 bits = philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return uniform_from_bits(bits.v[element % 4]) >= probability ? 1.0f / (1.0f - probability) : 0.0f;
}

}  // namespace genrnn::math
