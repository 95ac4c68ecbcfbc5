// gen_cuda's argument parsing, in-process: the input is the argument list, NUL-separated. It
// parses or throws CLI::ParseError (or genrnn::Error from a check); it never runs a command.
#include <cstdint>
#include <string>
#include <vector>

#include "genrnn/error.hpp"
#include "tools/gen_cuda/app.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"gen_cuda"};
  std::string arg;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(arg);
      arg.clear();
    } else {
      arg += static_cast<char>(data[i]);
    }
  }
  args.push_back(arg);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  const auto cli = gen_cuda::make_app();
  try {
    cli->app.parse(static_cast<int>(argv.size()), argv.data());
    cli->parsed();
  } catch (const CLI::ParseError&) {
  } catch (const genrnn::Error&) {
  }
  return 0;
}
