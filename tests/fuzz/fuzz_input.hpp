#pragma once
// What the fuzz targets share: the input as a file (the readers under test take paths) and a
// check that fails loudly (libFuzzer keeps the input that aborted).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace genrnn::fuzz {

// This process's own scratch folder, removed when the fuzzer exits.
struct ScratchFolder {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("genrnn_fuzz_" + std::to_string(::getpid()));
  ScratchFolder() { std::filesystem::create_directories(path); }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// A file `name` in the scratch folder.
inline std::string scratch_path(const std::string& name) {
  static const ScratchFolder folder;
  return (folder.path / name).string();
}

// The input written to scratch_path(name) (rewritten for each input).
inline std::string input_file(const uint8_t* data, std::size_t size, const std::string& name) {
  const std::string path = scratch_path(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// A property of the code under test that did not hold: abort, so libFuzzer saves the input.
inline void require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", property);
  std::abort();
}

}  // namespace genrnn::fuzz
