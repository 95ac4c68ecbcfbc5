#pragma once

namespace genrnn {

// The threads of the CPU engine's matrix products: OpenBLAS's pool, one per process (the GPU
// engines do not use it). By default OPENBLAS_NUM_THREADS, else one per core this process may
// run on: never more, since an oversubscribed OpenBLAS spins and slows down.
int cpu_threads();
// Throws Error unless 1 <= count <= 1024. More than available_cores() is allowed but slower.
void set_cpu_threads(int count);
// The cores this process may run on (its affinity mask), at least 1.
int available_cores();

}  // namespace genrnn
