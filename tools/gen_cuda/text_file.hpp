#pragma once
#include <string>

namespace gen_cuda {

// The whole file, as bytes. `what` names the file in errors ("data file", "prompt file"):
// one that cannot be opened or read, a directory, or an empty file throws genrnn::Error.
std::string read_text_file(const std::string& path, const std::string& what);

}  // namespace gen_cuda
