#pragma once
// Lets one definition of the math serve both the CPU engine (g++) and the CUDA kernels (nvcc).
#if defined(__CUDACC__)
#define GENRNN_HD __host__ __device__ __forceinline__
#else
#define GENRNN_HD inline
#endif

#include <math.h>

namespace genrnn::math {

GENRNN_HD float exp_of(float x) { return expf(x); }
GENRNN_HD double exp_of(double x) { return exp(x); }
GENRNN_HD float tanh_of(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  // glibc's tanhf goes through expm1f, several times slower than expf, and dominated the CPU
  // engine's profile. Near 0 a short series (its first omitted term is below 1e-12 relative),
  // elsewhere (1 - e) / (1 + e) with e = exp(-2|x|): within a few ulp of tanh.
  const float magnitude = fabsf(x);
  if (magnitude < 0.0625f) {
    const float x2 = x * x;
    return x + x * x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f)));
  }
  const float e = expf(-2.0f * magnitude);
  return copysignf((1.0f - e) / (1.0f + e), x);
#endif
}
GENRNN_HD double tanh_of(double x) { return tanh(x); }
GENRNN_HD float sqrt_of(float x) { return sqrtf(x); }
GENRNN_HD double sqrt_of(double x) { return sqrt(x); }

template <class T>
GENRNN_HD T sigmoid(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

}  // namespace genrnn::math
