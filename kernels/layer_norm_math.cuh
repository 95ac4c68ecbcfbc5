#pragma once
// The layer norm's constant, one definition for the CPU engine and the CUDA kernels.
#include "kernels/host_device.cuh"

namespace genrnn::math {

// Added to the variance before its square root: haste's and PyTorch's LayerNorm epsilon.
template <class Real>
constexpr Real layer_norm_epsilon = Real(1e-5);

}  // namespace genrnn::math
