// gen_cuda: train, sample from, evaluate and inspect recurrent language models.
#include <CLI/CLI.hpp>

#include <genrnn/parallel.hpp>

#include <algorithm>
#include <iostream>
#include <new>
#include <string>

#include "app.hpp"

namespace {

// The number of processes in this one's run; 1 where that cannot be known (a build without
// MPI that a launcher started: process_place refuses, and every process says why).
int run_size() {
  try {
    return genrnn::process_place().size;
  } catch (const std::exception&) {
    return 1;
  }
}

// Every failure is one line on stderr, whatever the message holds. In a run of several
// processes (mpirun), one that not all of them met ends the run: the others would wait for
// this one forever.
int report_error(std::string message, int exit_status, bool every_process = true) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  message = "gen_cuda: error: " + message;
  if (!every_process && run_size() > 1) genrnn::abort_run(message, exit_status);
  std::cerr << message << std::endl;
  return exit_status;
}

// Processes of a data-parallel run after the first stay quiet: they would repeat its lines.
void quiet_unless_first_process() {
  if (genrnn::process_place().rank > 0) {
    std::cout.rdbuf(nullptr);
    std::cerr.rdbuf(nullptr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto cli = gen_cuda::make_app();
  try {
    quiet_unless_first_process();
    cli->app.parse(argc, argv);
    return cli->parsed().run();
  } catch (const CLI::ParseError& error) {
    // --help and --version are "errors" with a success status: CLI11 prints them on stdout.
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return cli->app.exit(error);
    return report_error(error.what(), 2);
  } catch (const genrnn::RunError& error) {  // every process's: each ends as usual
    return report_error(error.what(), 1);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory", 1, false);
  } catch (const std::exception& error) {  // genrnn::Error and anything else the library throws
    return report_error(error.what(), 1, false);
  }
}
