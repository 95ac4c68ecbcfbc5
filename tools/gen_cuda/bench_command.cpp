// gen_cuda bench: tokens per second of training, prefill, decoding and sampling, on random
// weights and tokens, for every combination of the listed values (as llama-bench does).
#include <genrnn/genrnn.hpp>

#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_output.hpp"
#include "commands.hpp"

namespace gen_cuda {
namespace {

struct BenchArguments {
  std::vector<std::string> devices{"auto"};
  std::vector<std::string> engines{"auto"};
  std::vector<std::string> decoders{"auto"};
  bool tf32 = false;
  int gpu = -1;
  std::vector<std::string> cells{"lstm"};
  std::vector<int> layers{1}, hidden{256}, embed{0}, vocab{96}, batch{32}, seq_len{100}, n_decode{128}, beam_width{4};
  std::vector<std::string> tests{"train", "prefill", "decode", "sample"};
  std::vector<int> threads{0};  // 0: as they are (genrnn::cpu_threads)
  std::string standard_path;
  std::string suite;
  std::string format = "md";
  genrnn::BenchTiming timing;
};

bool uses_model(genrnn::BenchTest test) { return test != genrnn::BenchTest::sample; }
bool uses_window(genrnn::BenchTest test) {
  return test == genrnn::BenchTest::train || test == genrnn::BenchTest::prefill;
}
bool uses_decode_length(genrnn::BenchTest test) {
  return test == genrnn::BenchTest::decode || test == genrnn::BenchTest::beam;
}
bool uses_beam_width(genrnn::BenchTest test) { return test == genrnn::BenchTest::beam; }
bool uses_decoder(genrnn::BenchTest test) { return test == genrnn::BenchTest::decode; }

// Multiplies `cases` by `values`, each set through `set`. A case the field does not matter to
// (by `applies`) keeps the first value only, so nothing is measured twice.
template <class T, class Set>
void expand(std::vector<genrnn::BenchCase>& cases, const std::vector<T>& values, Set set,
            bool (*applies)(genrnn::BenchTest) = nullptr) {
  std::vector<genrnn::BenchCase> expanded;
  for (const auto& base : cases)
    for (std::size_t i = 0; i < values.size() && (i == 0 || !applies || applies(base.test)); ++i) {
      expanded.push_back(base);
      set(expanded.back(), values[i]);
    }
  cases = std::move(expanded);
}

// Every combination of the listed values.
std::vector<genrnn::BenchCase> cases_from_flags(const BenchArguments& a) {
  using genrnn::BenchCase;
  std::vector<BenchCase> cases(1);
  expand(cases, a.devices, [](BenchCase& c, const std::string& v) { c.device = genrnn::parse_device(v); });
  expand(cases, a.engines, [](BenchCase& c, const std::string& v) { c.engine = v; });
  expand(cases, a.tests, [](BenchCase& c, const std::string& v) { c.test = genrnn::parse_bench_test(v); });
  expand(
      cases, a.cells, [](BenchCase& c, const std::string& v) { c.model.cell = genrnn::parse_cell(v); }, uses_model);
  expand(
      cases, a.layers, [](BenchCase& c, int v) { c.model.num_layers = v; }, uses_model);
  expand(
      cases, a.hidden, [](BenchCase& c, int v) { c.model.hidden_size = v; }, uses_model);
  expand(
      cases, a.embed, [](BenchCase& c, int v) { c.model.embedding_dim = v; }, uses_model);
  expand(cases, a.vocab, [](BenchCase& c, int v) { c.model.vocab_size = v; });
  expand(cases, a.batch, [](BenchCase& c, int v) { c.batch = v; });
  expand(
      cases, a.seq_len, [](BenchCase& c, int v) { c.seq_len = v; }, uses_window);
  expand(
      cases, a.n_decode, [](BenchCase& c, int v) { c.n_decode = v; }, uses_decode_length);
  expand(
      cases, a.beam_width, [](BenchCase& c, int v) { c.beam_width = v; }, uses_beam_width);
  for (const auto& c : cases) c.model.validate();
  return cases;
}

int run_bench(const BenchArguments& args) {
  std::vector<genrnn::BenchCase> cases;
  if (args.standard_path.empty()) {
    cases = cases_from_flags(args);
  } else {
    for (const auto& device_name : args.devices)
      for (const auto& engine : args.engines) {
        const genrnn::Device device = genrnn::parse_device(device_name);
        const std::string suite = !args.suite.empty()                            ? args.suite
                                  : genrnn::choose_engine(device, engine).on_gpu ? "gpu"
                                                                                 : "cpu";
        for (auto c : genrnn::standard_bench_cases(args.standard_path, suite, device)) {
          c.engine = engine;
          cases.push_back(c);
        }
      }
  }
  expand(
      cases, args.decoders, [](genrnn::BenchCase& c, const std::string& v) { c.decoder = v; }, uses_decoder);
  expand(cases, args.threads, [](genrnn::BenchCase& c, int v) { c.threads = v; });
  for (auto& c : cases) {
    c.tf32 = args.tf32;
    c.gpu = args.gpu;
    c.cuda_graphs = cuda_graphs_from_environment();
    // Every case's engine, cell, decoder and GPU checked before the first measurement.
    genrnn::choose_engine(genrnn::engine_options(c), c.model, genrnn::engine_role(c.test));
  }
  // Each case printed as it finishes: a run cut short (a time limit, an error) keeps what it measured.
  BenchPrinter printer(args.format, std::cout);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    std::cerr << "[" << i + 1 << "/" << cases.size() << "] " << genrnn::to_string(c.test) << " "
              << (c.config_name.empty() ? "" : c.config_name + " ") << "batch " << c.batch << std::flush;
    genrnn::BenchResult r;
    try {
      r = genrnn::run_benchmark(c, args.timing);
    } catch (...) {
      std::cerr << std::endl;  // the error's own line, not the end of this case's
      throw;
    }
    printer.print(r);
    std::cerr << ": " << static_cast<long long>(r.mean_tokens_per_second) << " tokens/s";
    if (c.test == genrnn::BenchTest::beam) std::cerr << " (width " << c.beam_width << ", on the " << r.decoder << ")";
    if (c.test == genrnn::BenchTest::decode)
      std::cerr << ", " << std::fixed << std::setprecision(1) << r.token_latency_us_p50 << " us/token (" << r.decoder
                << (r.decoder_note.empty() ? "" : ": " + r.decoder_note) << ")";
    std::cerr << std::endl;
  }
  printer.finish();
  return 0;
}

template <class T>
CLI::Option* add_list(CLI::App& command, const std::string& name, std::vector<T>& values, const std::string& help) {
  return command.add_option(name, values, help + " (comma list)")->delimiter(',')->capture_default_str();
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand("bench", "Tokens/s of train, prefill, decode and sample on random weights");
  auto args = std::make_shared<BenchArguments>();
  add_list(*command, "--device", args->devices, "auto, cpu or cuda");
  add_list(*command, "--engine", args->engines, engine_choices());
  add_list(*command, "--decoder", args->decoders, decoder_help())->check(CLI::IsMember(decoder_names()));
  add_list(*command, "--cell", args->cells, one_of(genrnn::cell_names()));
  add_list(*command, "--layers", args->layers, "Stacked layers");
  add_list(*command, "--hidden", args->hidden, "Hidden size");
  add_list(*command, "--embed", args->embed, "Embedding size; 0: one-hot");
  add_list(*command, "--vocab", args->vocab, "Vocabulary size");
  add_list(*command, "--batch", args->batch, "Streams");
  add_list(*command, "--seq-len", args->seq_len, "Tokens per stream for train and prefill");
  add_list(*command, "-n,--n-decode", args->n_decode, "Tokens generated per stream for decode and beam");
  add_list(*command, "--beam-width", args->beam_width, "Hypotheses each request keeps for beam (--batch: requests)")
      ->check(CLI::PositiveNumber);
  add_list(*command, "--test", args->tests, "train, prefill, decode, sample, beam (not run by default)");
  add_list(*command, "--threads", args->threads,
           "CPU engine: threads for the matrix products; 0: as they are (" + std::to_string(genrnn::cpu_threads()) +
               " here)")
      ->check(number_in(0, Bound::included, 1024, Bound::included));
  command
      ->add_option("--standard", args->standard_path,
                   "Run the standard configurations of FILE (bench/standard.json) instead")
      ->check(CLI::ExistingFile);
  command->add_option("--suite", args->suite, "Suite of --standard to run (default: gpu on a GPU, else cpu)")
      ->check(CLI::IsMember({"cpu", "gpu"}));
  command->add_option("-r,--repetitions", args->timing.repetitions, "Timed repetitions")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--warmup", args->timing.warmup, "Untimed runs first")->check(at_least(0))->capture_default_str();
  command->add_option("--seed", args->timing.seed, "Seed for the random weights and tokens")->capture_default_str();
  command->add_flag("--tf32", args->tf32, "GPU: TF32 tensor cores for float32 products");
  add_gpu_option(*command, args->gpu);
  command->add_option("-o,--output", args->format, "Output on stdout: md, csv or json")
      ->check(CLI::IsMember({"md", "csv", "json"}))
      ->capture_default_str();
  return {command, [args] { return run_bench(*args); }};
}

}  // namespace gen_cuda
