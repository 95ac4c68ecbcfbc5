#include "parallel/communicator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "genrnn/device.hpp"
#include "genrnn/parallel.hpp"
#include "parallel/launcher.hpp"

namespace genrnn {

namespace {

class SingleProcess final : public Communicator {
 public:
  SingleProcess() : Communicator(0, 1) {}
  void average(const GradientBuffer&) override {}
  void sum(double*, int) override {}
  void broadcast(std::vector<float>&) override {}
  std::vector<float> gather(const std::vector<float>& mine) override { return mine; }
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine}; }
  void wait_for_all() override {}
  void start_gpu(int) override {}
  void release_gpu() override {}
};

}  // namespace

Communicator& single_process() {
  static SingleProcess alone;
  return alone;
}

EngineOptions with_process_gpu(EngineOptions options) {
  const ProcessPlace place = process_place();
  if (place.size == 1 || options.gpu >= 0 || options.device == Device::cpu) return options;
  const auto gpus = static_cast<int>(list_gpus().size());
  // More processes than GPUs share them, which NCCL refuses, naming them: Trainer starts NCCL
  // before the first step, so every process stops with that message.
  if (gpus > 0) options.gpu = place.local_rank % gpus;
  return options;
}

namespace {

// The first of `names` set in the environment, as a number; `otherwise` when none is.
int environment_number(std::initializer_list<const char*> names, int otherwise) {
  for (const char* name : names)
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return otherwise;
}

}  // namespace

// Open MPI's mpirun, and MPICH's Hydra (PMI).
int launcher_size() { return std::max(0, environment_number({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}, 0)); }
int launcher_local_rank() { return environment_number({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"}, -1); }
int launcher_local_size() { return environment_number({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}, -1); }

void print_line(std::string message) {
  for (char& c : message)
    if (c == '\n') c = ' ';
  // Not std::cerr: gen_cuda silences it on all processes but the first.
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace genrnn
