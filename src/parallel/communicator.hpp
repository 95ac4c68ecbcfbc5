#pragma once
// The collective operations a data-parallel run needs, between the processes mpirun started:
// MPI on the host, NCCL between GPUs. A single process has the same interface, with nothing to
// exchange, so Trainer runs one way whatever the run's size.
#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace genrnn {

class Communicator : public GradientReducer {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }

  // Sums `count` doubles over the processes, in place.
  virtual void sum(double* values, int count) = 0;
  // Rank 0's values, on every process (each passes as many).
  virtual void broadcast(std::vector<float>& values) = 0;
  // Every process's `mine` (each as many values), in rank order, on rank 0; empty elsewhere.
  virtual std::vector<float> gather(const std::vector<float>& mine) = 0;
  // Every process's text, in rank order, on every process.
  virtual std::vector<std::string> all_gather(const std::string& mine) = 0;
  // Returns when every process has called it; sleeps while it waits (a process timing work
  // alone must not share its cores with others spinning in a barrier).
  virtual void wait_for_all() = 0;
  // Makes what averages GPU `gpu`'s buffers (NCCL's communicator, with every process), so that a
  // GPU the run cannot use stops it before the first step; release_gpu lets it go again (an
  // engine's user does, before the CUDA runtime unloads at exit).
  virtual void start_gpu(int gpu) = 0;
  virtual void release_gpu() = 0;

 protected:
  Communicator(int rank, int size) : rank_(rank), size_(size) {}

 private:
  int rank_, size_;
};

// This process's run: the one process alone, or the MPI world mpirun started.
Communicator& run_communicator();

// `options` for this process: in a run of several, a GPU engine takes the GPU of the process's
// local rank (modulo the GPUs present) unless options.gpu names one.
EngineOptions with_process_gpu(EngineOptions options);

}  // namespace genrnn
