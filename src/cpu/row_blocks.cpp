#include "cpu/row_blocks.hpp"

#if defined(GENRNN_OPENMP_ROWS)
#include <omp.h>

#include <algorithm>
#include <string>

#include "cpu/matrix_products.hpp"
#include "genrnn/threads.hpp"
#endif

namespace genrnn::cpu {

void for_row_blocks_of(std::size_t rows, [[maybe_unused]] std::size_t units,
                       void (*run)(void*, std::size_t, std::size_t), void* context) {
#if defined(GENRNN_OPENMP_ROWS)
  static const bool beside_onednn = std::string(matrix_products_build()) == "onednn";
  const int threads = static_cast<int>(std::min<std::size_t>(cpu_threads(), rows));
  if (beside_onednn && threads > 1 && units >= 4096) {
#pragma omp parallel num_threads(threads)
    {
      const std::size_t part = omp_get_thread_num(), parts = omp_get_num_threads();
      run(context, rows * part / parts, rows * (part + 1) / parts);
    }
    return;
  }
#endif
  run(context, 0, rows);
}

}  // namespace genrnn::cpu
