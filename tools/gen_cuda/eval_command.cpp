// gen_cuda eval: the model's mean cross-entropy on a text file.
#include <genrnn/genrnn.hpp>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"

namespace gen_cuda {
namespace {

struct EvalArguments {
  std::string model_path;
  std::string data_path;
  bool json = false;
  std::string unknown = "error";
  std::string device = "auto";
  std::string engine = "auto";
  int gpu = -1;
};

// Full precision, so a script comparing runs sees every bit; JSON has no inf or nan.
std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream out;
  out << std::setprecision(17) << value;
  return out.str();
}

std::string to_json(const genrnn::EvalResult& result) {
  return "{\"loss\": " + json_number(result.loss) + ", \"bits_per_token\": " + json_number(result.bits_per_token) +
         ", \"perplexity\": " + json_number(result.perplexity) + ", \"tokens\": " + std::to_string(result.tokens) + "}";
}

std::string to_text(const genrnn::EvalResult& result) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(4) << "loss " << result.loss << " nats/token | " << result.bits_per_token
      << " bits/token | perplexity " << std::setprecision(2) << result.perplexity << " | " << result.tokens
      << " tokens";
  return out.str();
}

// The text's ids: a token file's, memory-mapped (its vocabulary must be the model's), or the text's.
genrnn::Corpus read_ids(const EvalArguments& args, const genrnn::Model& model, bool& token_file) {
  token_file = genrnn::is_token_file(args.data_path);
  if (!token_file) {
    const std::string text = genrnn::read_corpus_file(args.data_path);
    return model.tokenizer.encode(text, genrnn::parse_unknown_policy(args.unknown));
  }
  return genrnn::open_token_file(args.data_path);  // evaluate() checks its vocabulary
}

int run_eval(const EvalArguments& args, const CLI::Option& unknown) {
  const genrnn::Model model = genrnn::Model::load(args.model_path);
  bool token_file = false;
  const genrnn::Corpus ids = read_ids(args, model, token_file);
  genrnn::EngineOptions engine{genrnn::parse_device(args.device), args.engine};
  engine.gpu = args.gpu;
  const genrnn::EvalResult result = genrnn::evaluate(model, ids, engine);
  // Said after the work, so that an error is the only line on stderr.
  if (token_file && unknown.count() > 0)
    std::cerr << "note: ignoring --unknown: token file " << args.data_path
              << " holds ids already (gen_cuda tokenize --unknown chose for them)" << std::endl;
  std::cerr << "engine: " << result.engine << std::endl;
  std::cout << (args.json ? to_json(result) : to_text(result)) << std::endl;
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  CLI::App* command =
      parent.add_subcommand("eval", "Mean cross-entropy of a text under a model (one stream from a zero state)");
  auto args = std::make_shared<EvalArguments>();
  command->add_option("-m,--model", args->model_path, "Model checkpoint (safetensors)")->required();
  command->add_option("--data", args->data_path, "Text to evaluate (UTF-8), or a token file of the model's vocabulary")
      ->required();
  command->add_flag("--json", args->json, "Print only {\"loss\", \"bits_per_token\", \"perplexity\", \"tokens\"}");
  const CLI::Option* unknown = add_unknown_option(*command, args->unknown);
  add_device_option(*command, args->device);
  add_engine_option(*command, args->engine);
  add_gpu_option(*command, args->gpu);
  add_threads_option(*command);
  return {command, [args, unknown] { return run_eval(*args, *unknown); }};
}

}  // namespace gen_cuda
