// A build without MPI: every process runs alone, and one that mpirun started beside others
// refuses, rather than train N copies that overwrite one checkpoint.
#include <cstdlib>

#include "genrnn/error.hpp"
#include "genrnn/parallel.hpp"
#include "parallel/launcher.hpp"

namespace genrnn {

bool build_has_mpi() { return false; }

ProcessPlace process_place() {
  if (const int size = launcher_size(); size > 1)
    throw Error("this process is one of " + std::to_string(size) +
                " that an MPI launcher started, but this build has no MPI: rebuild with -DGENRNN_MPI=ON "
                "(Open MPI: apt install libopenmpi-dev) to train data-parallel, or run one process");
  return {};
}

Communicator& run_communicator() {
  process_place();
  return single_process();
}

void abort_run(const std::string& message, int status) {
  print_line(message);
  std::exit(status);
}

}  // namespace genrnn
