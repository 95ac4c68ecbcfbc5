#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/config.hpp"
#include "genrnn/device.hpp"

namespace genrnn {

enum class BenchTest { train, prefill, decode, sample, beam };
std::string to_string(BenchTest test);
BenchTest parse_bench_test(const std::string& name);  // "train" | "prefill" | "decode" | "sample" | "beam"

// One measurement: a test on a model shape (random weights and token ids, no data needed).
struct BenchCase {
  BenchTest test = BenchTest::train;
  Device device = Device::automatic;
  std::string engine = "auto";
  bool tf32 = false;
  bool cuda_graphs = true;       // decode on a GPU: replay a captured step
  std::string decoder = "auto";  // decode on a GPU: EngineOptions::decoder
  int gpu = -1;                  // a GPU engine's device: EngineOptions::gpu
  ModelConfig model;             // for `sample` only vocab_size matters
  int batch = 32;
  int seq_len = 100;        // train and prefill: tokens per stream
  int n_decode = 128;       // decode and beam: tokens generated per stream (per request)
  int beam_width = 4;       // beam: hypotheses each request keeps
  std::string config_name;  // the standard configuration it comes from, if any
  int threads = 0;          // the CPU engine: set_cpu_threads(threads) before measuring; 0: as they are
};

// The engine options a case runs with.
EngineOptions engine_options(const BenchCase& bench);
// The role a test measures: its engine is chosen for it.
EngineRole engine_role(BenchTest test);

struct BenchTiming {
  int warmup = 1;
  int repetitions = 5;
  uint64_t seed = 1;
};

struct BenchResult {
  BenchCase bench;
  std::string device;  // "cpu" | "cuda"
  std::string engine;
  std::string gpu;     // empty on the CPU
  int threads = 0;     // on the CPU: the threads the products used (cpu_threads()); 0 on a GPU
  int64_t tokens = 0;  // per repetition
  int processes = 1;   // train under mpirun: the run's processes, each stepping its share of the batch
  // train under mpirun, on process 0: tokens/s of the whole batch stepped by one process
  // alone, which the run's tokens/s divided by is the scaling; 0 otherwise.
  double one_process_tokens_per_second = 0;
  double mean_tokens_per_second = 0;
  double stddev_tokens_per_second = 0;  // sample standard deviation over repetitions
  // decode only: the decoder that ran (beam: where the search ran, "device" or "host") (with a note when it is not the
  // one asked for), and the time per generated token of a stream, median and 99th percentile over the timed
  // repetitions' positions. Ids reach the host a chunk at a time from a GPU: each position of
  // a chunk counts as the chunk's time since the one before, over its positions.
  std::string decoder;
  std::string decoder_note;
  double token_latency_us_p50 = 0;
  double token_latency_us_p99 = 0;
};

// train: full training steps (forward, backward, clipping, Adam) of batch x seq_len tokens;
// prefill: a batch x seq_len prompt from a zero state; decode: n_decode tokens for each of
// `batch` streams, sampling at T = 1 after a one-token prompt (its prefill untimed, as in
// tools/bench_pytorch.py); sample: the sampler alone over batch x vocab logits; beam: `batch`
// beam searches of beam_width after a one-token prompt, n_decode tokens each, as one batch (its
// prefill timed; tokens counted: batch x n_decode positions, not the beams'). Throws Error
// before measuring anything when the case's engine, device, cell or decoder do not go together.
BenchResult run_benchmark(const BenchCase& bench, const BenchTiming& timing);

// The cases of one suite ("cpu" or "gpu") of a standard-configurations file such as
// bench/standard.json, in the order both benchmark tools run them.
std::vector<BenchCase> standard_bench_cases(const std::string& path, const std::string& suite, Device device);

}  // namespace genrnn
