// gen_cuda tokenize: a text file into a token file, which train and eval memory-map.
#include <genrnn/genrnn.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>

#include "commands.hpp"

namespace gen_cuda {
namespace {

struct TokenizeArguments {
  std::string data_path;
  std::string out_path;
  std::string tokenizer = "char";
  int vocab_size = 10000;
  std::string model_path;
  std::string unknown;  // empty: as training reads text (word level: unk; char level: error)
};

// "420.0 MiB".
std::string mebibytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Progress on stderr: a percentage redrawn in place on a terminal, else a line per 100 MiB read.
class TokenizeReporter {
 public:
  TokenizeReporter() : terminal_(::isatty(STDERR_FILENO) == 1) {}
  ~TokenizeReporter() { finish(); }
  TokenizeReporter(const TokenizeReporter&) = delete;
  TokenizeReporter& operator=(const TokenizeReporter&) = delete;

  void report(const genrnn::TokenizeProgress& progress) {
    const std::string what = "tokenize: pass " + std::to_string(progress.pass) + " of " +
                             std::to_string(progress.passes) +
                             (progress.pass < progress.passes ? " (counting)" : " (writing ids)");
    if (terminal_) {
      const auto now = std::chrono::steady_clock::now();
      const bool pass_done = progress.bytes >= progress.total_bytes;
      if (progress.pass == pass_ && !pass_done && now - last_redraw_ < std::chrono::milliseconds(100)) return;
      last_redraw_ = now;
      const double percent = progress.total_bytes > 0 ? 100.0 * static_cast<double>(progress.bytes) /
                                                            static_cast<double>(progress.total_bytes)
                                                      : 100.0;
      char line[160];
      std::snprintf(line, sizeof line, "\r%s: %3.0f%% of %s\033[K", what.c_str(), percent > 100 ? 100 : percent,
                    mebibytes(progress.total_bytes).c_str());
      std::cerr << line << std::flush;
      line_open_ = true;
    } else {
      constexpr uint64_t every = uint64_t{100} << 20;
      if (progress.pass != pass_) next_line_at_ = every;
      if (progress.bytes >= next_line_at_) {
        std::cerr << what << ": " << mebibytes(progress.bytes) << " of " << mebibytes(progress.total_bytes)
                  << std::endl;
        next_line_at_ = (progress.bytes / every + 1) * every;
      }
    }
    pass_ = progress.pass;
  }

  void finish() {
    if (line_open_) std::cerr << std::endl;
    line_open_ = false;
  }

 private:
  bool terminal_;
  bool line_open_ = false;
  int pass_ = 0;
  uint64_t next_line_at_ = 0;
  std::chrono::steady_clock::time_point last_redraw_{};
};

int run_tokenize(const TokenizeArguments& args, const CLI::App& command) {
  TokenizeReporter reporter;
  const auto report = [&](const genrnn::TokenizeProgress& progress) { reporter.report(progress); };
  genrnn::TokenFileSummary summary;
  std::string vocabulary_source;
  if (!args.model_path.empty()) {
    for (const char* flag : {"--tokenizer", "--vocab-size"}) {
      if (command.count(flag) > 0)
        throw genrnn::Error(std::string(flag) + " cannot be given with --model: the vocabulary is the model's");
    }
    const genrnn::Model model = genrnn::Model::load(args.model_path);
    const genrnn::UnknownPolicy unknown = !args.unknown.empty() ? genrnn::parse_unknown_policy(args.unknown)
                                          : model.tokenizer.kind() == genrnn::TokenizerKind::word
                                              ? genrnn::UnknownPolicy::unk
                                              : genrnn::UnknownPolicy::error;
    summary = genrnn::tokenize_text_file(args.data_path, args.out_path, model.tokenizer, unknown, report);
    vocabulary_source = "model " + args.model_path + "'s ";
  } else {
    if (!args.unknown.empty())
      throw genrnn::Error("--unknown needs --model: a vocabulary built from the text holds all of it");
    summary = genrnn::tokenize_text_file(args.data_path, args.out_path, genrnn::parse_tokenizer_kind(args.tokenizer),
                                         args.vocab_size, report);
  }
  reporter.finish();
  std::cerr << "tokenized " << args.data_path << " (" << mebibytes(summary.text_bytes) << "): " << summary.tokens
            << " tokens, " << vocabulary_source << genrnn::to_string(summary.kind) << " vocabulary of "
            << summary.vocab_size << ", " << summary.id_width << "-byte ids; wrote " << args.out_path << " ("
            << summary.file_bytes << " bytes, " << mebibytes(summary.file_bytes) << ")" << std::endl;
  return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand(
      "tokenize", "Tokenize a text file once into a token file, which train --data and eval --data memory-map");
  auto args = std::make_shared<TokenizeArguments>();
  command->add_option("--data", args->data_path, "Text to tokenize (UTF-8), read in pieces: any size")->required();
  command->add_option("--out", args->out_path, "Token file to write (written to a temporary, then renamed)")
      ->required();
  command
      ->add_option("--tokenizer", args->tokenizer,
                   "char: code points; word: words and punctuation (the vocabulary train would build)")
      ->check(CLI::IsMember({"char", "word"}))
      ->capture_default_str();
  command->add_option("--vocab-size", args->vocab_size, "Word level: vocabulary size, <unk> included")
      ->check(at_least(2))
      ->capture_default_str();
  command->add_option("--model", args->model_path,
                      "Use this checkpoint's vocabulary instead of building one (to evaluate or train the model on "
                      "another text)");
  command
      ->add_option("--unknown", args->unknown,
                   "With --model: text outside the vocabulary: error, skip it, or unk (map to <unk>, word level); "
                   "default: unk at word level, error at char level, as train reads text")
      ->check(CLI::IsMember({"error", "skip", "unk"}));
  return {command, [args, command] { return run_tokenize(*args, *command); }};
}

}  // namespace gen_cuda
