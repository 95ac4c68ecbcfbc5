#pragma once
// Lets one definition of the math serve both the CPU engine (g++) and the CUDA kernels (nvcc).
#if defined(__CUDACC__)
#define GENRNN_HD __host__ __device__ __forceinline__
#else
#define GENRNN_HD inline
#endif

#include <math.h>

namespace genrnn::math {

#if !defined(__CUDA_ARCH__)
// exp on the host in plain arithmetic (Cephes' expf: 2^n exp(r), n = round(x / ln 2), a degree-6
// polynomial for exp(r)), within 2 ulp of exp: unlike a call to glibc's expf, it lets the compiler
// vectorise the cell and softmax loops (built with -fno-trapping-math, which the comparisons
// need to become vector min/max). Clamped to [-87, 88], where exp is a normal float; NaN stays NaN.
inline float host_expf(float x) {
  x = x > 88.0f ? 88.0f : x;  // in this order a NaN falls through both
  x = x < -87.0f ? -87.0f : x;
  constexpr float round_shift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504088896341f + round_shift;
  const float n = shifted - round_shift;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;  // ln 2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  // 2^n from n's bits: the low mantissa bits of `shifted` hold n (offset by its own bits).
  const unsigned exponent = (__builtin_bit_cast(unsigned, shifted) - __builtin_bit_cast(unsigned, round_shift) + 127u)
                            << 23;
  return (p * r * r + r + 1.0f) * __builtin_bit_cast(float, exponent);
}
#endif

GENRNN_HD float exp_of(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return host_expf(x);
#endif
}
GENRNN_HD double exp_of(double x) { return exp(x); }
GENRNN_HD float tanh_of(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  // glibc's tanhf goes through expm1f, several times slower than expf. Near 0 a short series
  // (its first omitted term is below 1e-12 relative), elsewhere (1 - e) / (1 + e) with
  // e = exp(-2|x|): within a few ulp of tanh.
  const float magnitude = fabsf(x);
  const float e = host_expf(-2.0f * magnitude);
  const float x2 = x * x;
  const float series = x + x * x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f)));
  return magnitude < 0.0625f ? series : copysignf((1.0f - e) / (1.0f + e), x);
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
