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
GENRNN_HD float tanh_of(float x) { return tanhf(x); }
GENRNN_HD double tanh_of(double x) { return tanh(x); }
GENRNN_HD float sqrt_of(float x) { return sqrtf(x); }
GENRNN_HD double sqrt_of(double x) { return sqrt(x); }

template <class T>
GENRNN_HD T sigmoid(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

}  // namespace genrnn::math
