#pragma once

namespace genrnn {

// The threads of the CPU engine: one setting per process, for the pools its matrix products
// run on (OpenBLAS's, and oneDNN's OpenMP team, which its cell and softmax loops share; the GPU
// engines use neither). By default OPENBLAS_NUM_THREADS, else one per core this process may run
// on, shared with the other processes of its data-parallel run on this machine: never more,
// since oversubscribed pools spin and slow down.
int cpu_threads();
// Throws Error unless 1 <= count <= 1024. More than available_cores() is allowed but slower.
void set_cpu_threads(int count);
// The cores this process may run on (its affinity mask), at least 1.
int available_cores();

}  // namespace genrnn
