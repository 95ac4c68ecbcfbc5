// The safetensors reader on arbitrary bytes: it either throws genrnn::Error or returns a file
// that writes and reads back to the same tensors and metadata.
#include <cstdint>

#include "core/safetensors.hpp"
#include "genrnn/error.hpp"
#include "tests/fuzz/fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace genrnn;
  SafetensorsFile file;
  try {
    file = read_safetensors(fuzz::input_file(data, size, "input.safetensors"));
  } catch (const Error&) {
    return 0;
  }
  const std::string copy = fuzz::scratch_path("copy.safetensors");
  try {
    write_safetensors(copy, file);
  } catch (const Error&) {
    return 0;  // a name or metadata the writer refuses ("__metadata__" as a tensor cannot come back)
  }
  const SafetensorsFile again = read_safetensors(copy);
  fuzz::require(again.metadata == file.metadata, "metadata survives a write and a read");
  fuzz::require(again.tensors.size() == file.tensors.size(), "every tensor survives a write and a read");
  for (const auto& [name, tensor] : file.tensors) {
    const auto it = again.tensors.find(name);
    fuzz::require(it != again.tensors.end() && it->second.dtype == tensor.dtype && it->second.shape == tensor.shape &&
                      it->second.bytes == tensor.bytes,
                  "a tensor reads back as written");
  }
  return 0;
}
