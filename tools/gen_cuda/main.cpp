// gen_cuda: train, sample from, evaluate and inspect recurrent language models.
#include <CLI/CLI.hpp>
#include <genrnn/version.hpp>

#include <algorithm>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

// Every failure is one line on stderr, whatever the message holds.
int report_error(std::string message, int exit_status) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  std::cerr << "gen_cuda: error: " << message << std::endl;
  return exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train recurrent language models (LSTM, GRU, RNN) and generate text with them.",
               "gen_cuda"};
  app.set_version_flag("--version", "gen_cuda " + genrnn::version());
  app.require_subcommand(1);
  // As in most tools, a repeated option takes its last value (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  const std::vector<gen_cuda::Command> commands = {
      gen_cuda::add_train_command(app), gen_cuda::add_sample_command(app),
      gen_cuda::add_eval_command(app), gen_cuda::add_info_command(app),
      gen_cuda::add_bench_command(app)};

  try {
    app.parse(argc, argv);
    // require_subcommand(1): exactly one of them was parsed.
    return std::find_if(commands.begin(), commands.end(),
                        [](const gen_cuda::Command& command) { return command.app->parsed(); })
        ->run();
  } catch (const CLI::ParseError& error) {
    // --help and --version are "errors" with a success status: CLI11 prints them on stdout.
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);
    return report_error(error.what(), 2);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory", 1);
  } catch (const std::exception& error) {  // genrnn::Error and anything else the library throws
    return report_error(error.what(), 1);
  }
}
