#pragma once
// Data-parallel training: `mpirun -np N` starts N processes of one run. Each learns its place
// here; Trainer does the rest (each process trains its share of the batch's streams, gradients
// are averaged every step, rank 0 alone writes checkpoints).
#include <string>

#include "genrnn/error.hpp"

namespace genrnn {

struct ProcessPlace {
  int rank = 0;  // 0 .. size - 1
  int size = 1;
  int local_rank = 0;  // among the run's processes on this machine: picks the GPU
  int local_size = 1;  // the run's processes on this machine: they share its cores
};

// Where this process stands in its run: when an MPI launcher started it, in a build with MPI,
// its rank and the run's size (MPI is initialised on the first call, and finalised at exit);
// otherwise rank 0 of 1. Throws Error when a launcher started several processes but this build
// has no MPI, rather than let them overwrite one another's checkpoints.
ProcessPlace process_place();

// Whether this build has MPI (processes on CPUs, and starting any run) and NCCL (averaging
// between GPUs).
bool build_has_mpi();
bool build_has_nccl();

// An error every process of a run throws together (Trainer's checks, a checkpoint that cannot be
// written): each can report it and end as usual. Any other error, in a run of several
// processes, is one process's alone: end the run with abort_run, or the others wait forever.
class RunError : public Error {
 public:
  using Error::Error;
};

// For work a run's processes do before Trainer (reading their files, say): every process calls
// it, with what failed in it or "". Where any process has a failure, every process throws
// RunError with it (naming the process when they differ), so that none waits for the others.
void share_failure(const std::string& message);

// Ends every process of the run with `status` (MPI_Abort), after this one prints `message` as
// one line on stderr: for a failure only some processes met, which would leave the others
// waiting for them. Alone, it prints and exits.
[[noreturn]] void abort_run(const std::string& message, int status);

}  // namespace genrnn
