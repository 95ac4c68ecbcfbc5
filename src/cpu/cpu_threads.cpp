#include "genrnn/threads.hpp"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>

#include "genrnn/error.hpp"
#include "parallel/launcher.hpp"

namespace genrnn {

namespace {

// OpenBLAS counts the machine's processors, not this process's share of them (a container or
// taskset may allow fewer, and the processes of a data-parallel run on this machine share them):
// brought down to that share once, unless OPENBLAS_NUM_THREADS says.
void limit_to_available_cores() {
  static std::once_flag once;
  std::call_once(once, [] {
    const int share = std::max(1, available_cores() / std::max(1, launcher_local_size()));
    if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr && openblas_get_num_threads() > share)
      openblas_set_num_threads(share);
  });
}

}  // namespace

int available_cores() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 1;
  const int count = CPU_COUNT(&allowed);
  return count > 0 ? count : 1;
}

int cpu_threads() {
  limit_to_available_cores();
  return openblas_get_num_threads();
}

void set_cpu_threads(int count) {
  if (count < 1 || count > 1024) throw Error("threads must be in [1, 1024], not " + std::to_string(count));
  limit_to_available_cores();  // so that it cannot undo this call later
  openblas_set_num_threads(count);
}

}  // namespace genrnn
