#pragma once
// The gen_cuda subcommands and the option helpers they share. Input files are not checked by
// CLI11 but by the library as it reads them (genrnn/text_file.hpp, Model::load): the messages are
// then the Python package's too.
#include <CLI/CLI.hpp>
#include <genrnn/config.hpp>
#include <genrnn/device.hpp>
#include <genrnn/threads.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/environment.hpp"
#include "core/text_list.hpp"

namespace gen_cuda {

using genrnn::one_of;  // "a, b or c"

// A registered subcommand: `run` reads its parsed options, does the work and returns the exit
// status. It runs after parsing, not as a CLI11 callback: every parse error comes before any work.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_train_command(CLI::App& parent);
Command add_sample_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_tokenize_command(CLI::App& parent);
Command add_info_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_serve_command(CLI::App& parent);  // serve_unavailable.cpp where the build has no cpp-httplib

// Exit status of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
constexpr int interrupted_exit_status = 130;

enum class Bound { included, excluded };

// A number between `low` and `high`, each end included or not; CLI11's own Range prints
// std::numeric_limits in its messages, these read "--hidden: must be >= 1 (got 0)".
inline CLI::Validator number_in(double low, Bound low_bound, double high, Bound high_bound) {
  std::ostringstream description;
  if (std::isinf(high)) {
    description << (low_bound == Bound::included ? ">= " : "> ") << low;
  } else {
    description << (low_bound == Bound::included ? '[' : '(') << low << ", " << high
                << (high_bound == Bound::included ? ']' : ')');
  }
  const std::string range = description.str();
  auto check = [=](std::string& input) -> std::string {
    char* end = nullptr;
    const double value = std::strtod(input.c_str(), &end);
    const bool is_number = !input.empty() && *end == '\0' && std::isfinite(value);
    const bool above_low = low_bound == Bound::included ? value >= low : value > low;
    const bool below_high = high_bound == Bound::included ? value <= high : value < high;
    if (!is_number) return "expected a number, got '" + input + "'";
    if (above_low && below_high) return {};
    return "must be " + std::string(std::isinf(high) ? "" : "in ") + range + " (got " + input + ")";
  };
  return CLI::Validator(check, range);
}

inline CLI::Validator at_least(double low) {
  return number_in(low, Bound::included, std::numeric_limits<double>::infinity(), Bound::excluded);
}

inline CLI::Validator above(double low) {
  return number_in(low, Bound::excluded, std::numeric_limits<double>::infinity(), Bound::excluded);
}

// --device auto|cpu|cuda, for every command that runs a model.
inline CLI::Option* add_device_option(CLI::App& command, std::string& device) {
  return command.add_option("--device", device, "auto: a usable GPU, else the CPU; cpu; cuda (an error without a GPU)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
}

// --gpu N: the CUDA device a GPU engine runs on.
inline CLI::Option* add_gpu_option(CLI::App& command, int& gpu) {
  return command
      .add_option("--gpu", gpu,
                  "GPU engines: the CUDA device to run on, 0 to the number of GPUs less 1 (gen_cuda info lists "
                  "them; default: the current one, 0 unless CUDA_VISIBLE_DEVICES reorders them)")
      ->check(CLI::NonNegativeNumber);
}

// --threads N: the CPU engine's threads (genrnn::set_cpu_threads), set as it is parsed.
inline CLI::Option* add_threads_option(CLI::App& command) {
  return command
      .add_option_function<int>(
          "--threads", [](int count) { genrnn::set_cpu_threads(count); },
          "CPU engine: threads for the matrix products (default: OPENBLAS_NUM_THREADS, else one per core: " +
              std::to_string(genrnn::cpu_threads()) + " here)")
      ->check(number_in(1, Bound::included, 1024, Bound::included));
}

// GENRNN_CUDA_GRAPHS=0 in the environment: GPU decoding with plain launches, no CUDA graph
// (to compare, or to debug).
// A fresh 64-bit seed, for a run or request that was given none.
inline uint64_t random_seed() {
  std::random_device device;
  return uint64_t{device()} << 32 | device();
}

inline bool cuda_graphs_from_environment() { return !genrnn::env_equals("GENRNN_CUDA_GRAPHS", "0"); }

// "auto" and the registered engines' names.
inline std::vector<std::string> engine_names() {
  std::vector<std::string> names{"auto"};
  for (const genrnn::EngineInfo& engine : genrnn::registered_engines()) names.push_back(engine.name);
  return names;
}

// "auto, cpu, cudnn or fused".
inline std::string engine_choices() { return one_of(engine_names()); }

// --engine, beside --device: any registered engine, or auto.
inline CLI::Option* add_engine_option(CLI::App& command, std::string& engine) {
  return command
      .add_option("--engine", engine,
                  engine_choices() +
                      "; auto takes the first GPU engine on a usable GPU, else the CPU's "
                      "(gen_cuda info describes each)")
      ->check(CLI::IsMember(engine_names()))
      ->capture_default_str();
}

// "auto" and every decoder a registered engine offers.
inline std::vector<std::string> decoder_names() {
  std::vector<std::string> names{"auto"};
  for (const genrnn::EngineInfo& engine : genrnn::registered_engines())
    for (const std::string& decoder : engine.decoders)
      if (std::find(names.begin(), names.end(), decoder) == names.end()) names.push_back(decoder);
  return names;
}

inline const char* decoder_help() {
  return "GPU decoding: graph (one CUDA graph per token), persistent (the token loop in one kernel, "
         "weights on chip; the graph decoder, saying why, where the model does not fit) or auto (graph, "
         "until a GPU has measured persistent faster)";
}

// --decoder: how a GPU engine decodes.
inline CLI::Option* add_decoder_option(CLI::App& command, std::string& decoder) {
  return command.add_option("--decoder", decoder, decoder_help())
      ->check(CLI::IsMember(decoder_names()))
      ->capture_default_str();
}

// Which engine decodes, for the commands that generate (sample, serve): --device, --engine,
// --gpu and --decoder, with --threads.
struct DecodingEngineArguments {
  std::string device = "auto";
  std::string engine = "auto";
  std::string decoder = "auto";
  int gpu = -1;

  genrnn::EngineOptions options() const {
    genrnn::EngineOptions options{genrnn::parse_device(device), engine};
    options.cuda_graphs = cuda_graphs_from_environment();
    options.decoder = decoder;
    options.gpu = gpu;
    return options;
  }
};

inline void add_decoding_engine_options(CLI::App& command, DecodingEngineArguments& args) {
  add_device_option(command, args.device);
  add_engine_option(command, args.engine);
  add_gpu_option(command, args.gpu);
  add_decoder_option(command, args.decoder);
  add_threads_option(command);
}

// --unknown error|skip|unk: what to do with text outside the model's vocabulary.
inline CLI::Option* add_unknown_option(CLI::App& command, std::string& policy) {
  return command
      .add_option("--unknown", policy, "Text outside the vocabulary: error, skip it, or unk (map to <unk>, word level)")
      ->check(CLI::IsMember({"error", "skip", "unk"}))
      ->capture_default_str();
}

}  // namespace gen_cuda
