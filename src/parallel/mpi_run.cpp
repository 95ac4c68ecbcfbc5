// A build with MPI: a process an MPI launcher started joins its run's world (MPI_COMM_WORLD);
// the host's collectives are MPI's, a GPU's gradients go through NCCL, bootstrapped over MPI.
#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "genrnn/error.hpp"
#include "genrnn/parallel.hpp"
#include "parallel/launcher.hpp"
#include "parallel/nccl_reducer.hpp"

namespace genrnn {

bool build_has_mpi() { return true; }

namespace {

// MPI counts are ints: a longer buffer goes in pieces.
constexpr std::size_t max_count = std::size_t{1} << 30;

class MpiWorld final : public Communicator {
 public:
  MpiWorld(int rank, int size) : Communicator(rank, size) {}

  void average(const GradientBuffer& gradients) override {
    if (gradients.gpu >= 0) return gpu_reducer(gradients.gpu).average(gradients);
    for (std::size_t first = 0; first < gradients.count; first += max_count)
      MPI_Allreduce(MPI_IN_PLACE, gradients.data + first,
                    static_cast<int>(std::min(max_count, gradients.count - first)), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const float scale = 1.0f / static_cast<float>(size());
    for (std::size_t i = 0; i < gradients.count; ++i) gradients.data[i] *= scale;
  }

  void sum(double* values, int count) override {
    MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }

  void broadcast(std::vector<float>& values) override {
    for (std::size_t first = 0; first < values.size(); first += max_count)
      MPI_Bcast(values.data() + first, static_cast<int>(std::min(max_count, values.size() - first)), MPI_FLOAT, 0,
                MPI_COMM_WORLD);
  }

  std::vector<float> gather(const std::vector<float>& mine) override {
    std::vector<float> all(rank() == 0 ? mine.size() * static_cast<std::size_t>(size()) : 0);
    const int count = static_cast<int>(mine.size());
    MPI_Gather(mine.data(), count, MPI_FLOAT, all.data(), count, MPI_FLOAT, 0, MPI_COMM_WORLD);
    return all;
  }

  std::vector<std::string> all_gather(const std::string& mine) override {
    std::vector<int> lengths(static_cast<std::size_t>(size()));
    const int length = static_cast<int>(mine.size());
    MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
    std::vector<int> offsets(lengths.size(), 0);
    for (std::size_t r = 1; r < lengths.size(); ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
    std::string joined(static_cast<std::size_t>(offsets.back() + lengths.back()), '\0');
    MPI_Allgatherv(mine.data(), length, MPI_CHAR, joined.data(), lengths.data(), offsets.data(), MPI_CHAR,
                   MPI_COMM_WORLD);
    std::vector<std::string> texts;
    for (std::size_t r = 0; r < lengths.size(); ++r)
      texts.push_back(joined.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
    return texts;
  }

  void wait_for_all() override {
    MPI_Request request;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  void start_gpu(int gpu) override {
    if (nccl_ && nccl_gpu_ == gpu) return;
    nccl_.reset();
    nccl_ = make_nccl_reducer(gpu, rank(), size(), [](void* bytes, std::size_t count) {
      MPI_Bcast(bytes, static_cast<int>(count), MPI_BYTE, 0, MPI_COMM_WORLD);
    });
    nccl_gpu_ = gpu;
  }

  void release_gpu() override { nccl_.reset(); }

 private:
  GradientReducer& gpu_reducer(int gpu) {
    start_gpu(gpu);
    return *nccl_;
  }

  std::unique_ptr<GradientReducer> nccl_;
  int nccl_gpu_ = -1;
};

struct MpiRun {
  ProcessPlace place;
  std::unique_ptr<MpiWorld> world;  // when the run has more than one process
};

MpiRun& mpi_run();

void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

MpiRun start_mpi() {
  MpiRun run;
  if (launcher_size() == 0) return run;  // no launcher started this process: alone, without MPI
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {  // else the application (mpi4py, say) started MPI, and ends it
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    std::atexit(finalize_mpi);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &run.place.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &run.place.size);
  run.place.local_rank = launcher_local_rank();
  run.place.local_size = launcher_local_size();
  if (run.place.local_rank < 0 || run.place.local_size < 1) {  // the launcher does not say: ask MPI, with all
    MPI_Comm machine;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, run.place.rank, MPI_INFO_NULL, &machine);
    MPI_Comm_rank(machine, &run.place.local_rank);
    MPI_Comm_size(machine, &run.place.local_size);
    MPI_Comm_free(&machine);
  }
  if (run.place.size > 1) run.world = std::make_unique<MpiWorld>(run.place.rank, run.place.size);
  return run;
}

MpiRun& mpi_run() {
  static MpiRun* const run = new MpiRun(start_mpi());  // never destroyed: MPI may outlive statics
  return *run;
}

}  // namespace

ProcessPlace process_place() { return mpi_run().place; }

Communicator& run_communicator() {
  MpiRun& run = mpi_run();
  return run.world ? static_cast<Communicator&>(*run.world) : single_process();
}

void abort_run(const std::string& message, int status) {
  print_line(message);
  if (process_place().size > 1) MPI_Abort(MPI_COMM_WORLD, status);
  std::exit(status);
}

}  // namespace genrnn
