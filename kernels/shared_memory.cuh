#pragma once
// Dynamic shared memory, sized by the launch (LaunchShape::shared_bytes): inside a kernel,
//   GENRNN_DYNAMIC_SHARED(float, buffer);
// declares `float* const buffer` at the start of the block's dynamic shared memory (16-byte
// aligned). One spelling for nvcc and for the host SIMT executor (tests/simt), where CUDA's
// `extern __shared__` has no host equivalent.
#if defined(__CUDACC__)
#define GENRNN_DYNAMIC_SHARED(type, name)                                 \
  extern __shared__ __align__(16) unsigned char genrnn_dynamic_shared_[]; \
  type* const name = reinterpret_cast<type*>(genrnn_dynamic_shared_)
#else
#define GENRNN_DYNAMIC_SHARED(type, name) type* const name = static_cast<type*>(::genrnn::simt::dynamic_shared_memory())
#endif
