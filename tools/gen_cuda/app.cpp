#include "app.hpp"

#include <genrnn/version.hpp>

#include <algorithm>

namespace gen_cuda {

const Command& GenCudaApp::parsed() const {
  return *std::find_if(commands.begin(), commands.end(), [](const Command& command) { return command.app->parsed(); });
}

std::unique_ptr<GenCudaApp> make_app() {
  auto result = std::make_unique<GenCudaApp>();
  CLI::App& app = result->app;
  app.set_version_flag("--version", "gen_cuda " + genrnn::version());
  app.require_subcommand(1);
  // As in most tools, a repeated option takes its last value (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  result->commands = {add_train_command(app), add_sample_command(app), add_eval_command(app), add_tokenize_command(app),
                      add_info_command(app),  add_bench_command(app),  add_serve_command(app)};
  return result;
}

}  // namespace gen_cuda
