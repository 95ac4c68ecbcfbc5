// gen_cuda serve in a build without cpp-httplib: the command is there, to say so.
#include <genrnn/error.hpp>

#include "commands.hpp"

namespace gen_cuda {

Command add_serve_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand("serve", "Serve a model over HTTP (not in this build)");
  command->allow_extras();
  return {
      command, []() -> int {
        throw genrnn::Error("this build has no server: install cpp-httplib (Debian: libcpp-httplib-dev) and rebuild");
      }};
}

}  // namespace gen_cuda
