#pragma once
// Work over rows split into one contiguous block per CPU thread, on the OpenMP team that
// oneDNN's products run on (which would otherwise wait through it): the cell loops over a step's
// streams, the softmax over the head's rows.
#include <cstddef>
#include <type_traits>

namespace genrnn::cpu {

// run(context, first, last) for blocks that together cover rows [0, rows): see for_row_blocks.
void for_row_blocks_of(std::size_t rows, std::size_t units, void (*run)(void*, std::size_t, std::size_t),
                       void* context);

// run(first, last) for blocks that together cover rows [0, rows), in parallel where `units`
// (all the rows' work, in elements) is enough for a thread's start (a few us) to pay; else one
// call on the calling thread. One thread also in builds without OpenMP, and beside OpenBLAS's
// products (GENRNN_CPU_GEMM=openblas): its threads and OpenMP's, each spinning while the other
// works, would share the cores (char256 trained 4x slower so). `run` is passed by address, not
// wrapped in a std::function, which would allocate at every step.
template <class Run>
void for_row_blocks(std::size_t rows, std::size_t units, Run&& run) {
  for_row_blocks_of(
      rows, units,
      [](void* f, std::size_t first, std::size_t last) {
        (*static_cast<std::remove_reference_t<Run>*>(f))(first, last);
      },
      &run);
}

}  // namespace genrnn::cpu
