#include "parallel/communicator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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
  if (gpus > 0) options.gpu = place.local_rank % gpus;
  return options;
}

int launcher_size() {
  // Open MPI's mpirun, and the PMI of MPICH's and Slurm's launchers.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  return 0;
}

void print_line(std::string message) {
  for (char& c : message)
    if (c == '\n') c = ' ';
  // Not std::cerr: gen_cuda silences it on all processes but the first.
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace genrnn
