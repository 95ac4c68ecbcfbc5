#pragma once
// What the MPI and the MPI-less builds share: the single process's communicator, and how a
// process tells that a launcher started it.
#include <string>

#include "parallel/communicator.hpp"

namespace genrnn {

Communicator& single_process();
// The number of processes the launcher that started this one started (mpirun sets it in the
// environment); 0 when no launcher did.
int launcher_size();
// This process's rank among the run's processes on its machine, and their number, as the
// launcher's environment says; -1 where it does not.
int launcher_local_rank();
int launcher_local_size();
// `message` on stderr as one line.
void print_line(std::string message);

}  // namespace genrnn
