#pragma once
// gen_cuda's command line: the app with its subcommands, parsed apart from running them (the
// argument-parsing fuzzer parses without running).
#include <CLI/CLI.hpp>

#include <memory>
#include <vector>

#include "commands.hpp"

namespace gen_cuda {

struct GenCudaApp {
  CLI::App app{"Train recurrent language models (LSTM, GRU, RNN) and generate text with them.", "gen_cuda"};
  std::vector<Command> commands;
  // The subcommand that parse() chose (require_subcommand(1): exactly one).
  const Command& parsed() const;
};

std::unique_ptr<GenCudaApp> make_app();

}  // namespace gen_cuda
