// gen_cuda: train, sample from, evaluate and inspect recurrent language models.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <new>
#include <string>

#include "app.hpp"

namespace {

// Every failure is one line on stderr, whatever the message holds.
int report_error(std::string message, int exit_status) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  std::cerr << "gen_cuda: error: " << message << std::endl;
  return exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  const auto cli = gen_cuda::make_app();
  try {
    cli->app.parse(argc, argv);
    return cli->parsed().run();
  } catch (const CLI::ParseError& error) {
    // --help and --version are "errors" with a success status: CLI11 prints them on stdout.
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return cli->app.exit(error);
    return report_error(error.what(), 2);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory", 1);
  } catch (const std::exception& error) {  // genrnn::Error and anything else the library throws
    return report_error(error.what(), 1);
  }
}
