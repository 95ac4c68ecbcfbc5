// gen_cuda sample: generates text after a prompt. stdout carries the text and nothing else.
#include <genrnn/genrnn.hpp>

#include <cstdint>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "commands.hpp"

namespace gen_cuda {
namespace {

struct SampleArguments {
  std::string model_path;
  std::string prompt;
  std::string prompt_path;
  std::string unknown = "error";
  DecodingEngineArguments engine;
  genrnn::GenerateOptions options;
  bool json = false;
  const CLI::Option* seed_option = nullptr;
};

// {"prompt", "outputs": [{"text", "ids", "logprob" (under the model, at T = 1), "score"}]}.
void print_json(const std::string& prompt, const std::vector<genrnn::GeneratedText>& outputs) {
  nlohmann::ordered_json report{{"prompt", prompt}, {"outputs", nlohmann::ordered_json::array()}};
  for (const genrnn::GeneratedText& output : outputs)
    report["outputs"].push_back(
        {{"text", output.text}, {"ids", output.ids}, {"logprob", output.logprob}, {"score", output.score}});
  std::cout << report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << std::endl;
}

int run_sample(SampleArguments& args) {
  if (args.options.beam_width > 0 && args.options.num_samples > args.options.beam_width)
    throw genrnn::Error("--num-samples " + std::to_string(args.options.num_samples) + " with --beam-width " +
                        std::to_string(args.options.beam_width) + ": a beam search returns at most its width");
  const std::string prompt = args.prompt_path.empty() ? args.prompt : genrnn::read_prompt_file(args.prompt_path);
  const genrnn::Model model = genrnn::Model::load(args.model_path);
  args.options.unknown = genrnn::parse_unknown_policy(args.unknown);
  // Checked before anything is printed, so that a bad prompt is the only line on stderr.
  if (model.tokenizer.encode(prompt, args.options.unknown).empty()) {
    throw genrnn::Error("no prompt token to start from: the prompt is empty or --unknown skip dropped all of it");
  }
  const genrnn::EngineOptions engine = args.engine.options();
  genrnn::Generator generator(model, engine);

  const bool beam = args.options.beam_width > 0;
  if (args.seed_option->count() == 0 && !beam) {
    args.options.sampling.seed = random_seed();
    std::cerr << "seed: " << args.options.sampling.seed << '\n';  // to repeat this run
  }
  std::cerr << "engine: " << generator.engine_name() << std::endl;

  if (args.json) {
    print_json(prompt, generator.generate_scored(prompt, args.options));
    return 0;
  }
  if (args.options.num_samples == 1) {
    std::cout << prompt << std::flush;
    generator.generate(prompt, args.options,
                       [](int, int, const std::string& piece) { std::cout << piece << std::flush; });
  } else {
    const std::vector<std::string> samples = generator.generate(prompt, args.options);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      std::cout << (i == 0 ? "" : "\n\n") << prompt << samples[i];
    }
  }
  // A shell prompt should not follow the text on its line; a pipe gets the text exactly.
  if (::isatty(STDOUT_FILENO) == 1) std::cout << '\n';
  std::cout << std::flush;
  const genrnn::DecodeInfo& decoded = generator.last_decode();
  if (!decoded.decoder.empty() && decoded.decoder != "cpu")  // a GPU's: which ran, and why when not the one asked for
    std::cerr << "decoder: " << decoded.decoder << (decoded.note.empty() ? "" : " (" + decoded.note + ")") << '\n';
  return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand("sample", "Generate text after a prompt");
  auto args = std::make_shared<SampleArguments>();
  genrnn::GenerateOptions& options = args->options;

  command->add_option("-m,--model", args->model_path, "Model checkpoint (safetensors)")->required();
  // Not an option group: CLI11 2.1's nameless groups take an empty argument ("") for their own
  // name and then parse forever (found by tests/fuzz/cli_fuzzer).
  CLI::Option* prompt = command->add_option("-p,--prompt", args->prompt, "Text the generated text continues");
  CLI::Option* prompt_file =
      command->add_option("--prompt-file", args->prompt_path, "Read the prompt from FILE")->excludes(prompt);
  command->parse_complete_callback([prompt, prompt_file] {
    if (prompt->count() + prompt_file->count() == 0) throw CLI::RequiredError("--prompt or --prompt-file");
  });
  command->add_option("-n,--length", options.length, "Tokens to generate")->check(at_least(1))->capture_default_str();
  command
      ->add_option("--temperature,--temp", options.sampling.temperature,
                   "Sampling temperature; 0: always the most likely token")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--top-k", options.sampling.top_k, "Sample from the K most likely; 0: off")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--top-p", options.sampling.top_p, "Sample from the smallest set holding probability P; 1: off")
      ->check(number_in(0, Bound::excluded, 1, Bound::included))
      ->capture_default_str();
  args->seed_option = command->add_option("-s,--seed", options.sampling.seed, "Random seed (default: random, printed)")
                          ->check(at_least(0));
  command->add_option("--stop", options.stop, "End a sample once its text contains TEXT (kept)");
  command
      ->add_option("--beam-width", options.beam_width,
                   "Beam search of K hypotheses instead of sampling (1: greedy): --num-samples of the best, best "
                   "first; deterministic (no seed)")
      ->check(number_in(1, Bound::included, genrnn::limits::max_streams, Bound::included));
  command
      ->add_option("--length-penalty", options.length_penalty,
                   "Beam search: scores are log-probabilities over ((5 + tokens) / 6)^A (GNMT's; 0: none, > 0 "
                   "favours longer)")
      ->check(number_in(0, Bound::included, 10, Bound::included))
      ->capture_default_str();
  command->add_flag("--json", args->json,
                    "Print each output's text, token ids and log-probability under the model (T = 1) as JSON");
  command->add_option("--num-samples", options.num_samples, "Independent samples (with --beam-width: the best)")
      ->check(number_in(1, Bound::included, genrnn::limits::max_streams, Bound::included))
      ->capture_default_str();
  add_unknown_option(*command, args->unknown);
  add_decoding_engine_options(*command, args->engine);

  return {command, [args] { return run_sample(*args); }};
}

}  // namespace gen_cuda
