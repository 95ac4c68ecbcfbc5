#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace genrnn {

enum class DType { f32, f64, i64, i32 };

// One tensor of a safetensors file: little-endian bytes, row-major.
struct SafeTensor {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  std::size_t numel() const;
  static SafeTensor from_f32(std::vector<int64_t> shape, const float* data);
  static SafeTensor from_i64(std::vector<int64_t> shape, const int64_t* data);
  std::vector<float> to_f32() const;    // throws Error unless dtype is f32
  std::vector<int64_t> to_i64() const;  // throws Error unless dtype is i64
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__": string to string
  std::map<std::string, SafeTensor> tensors;
};

// Reads and validates the whole file (header length and JSON, dtypes, shapes against byte
// sizes, offsets inside the data and not overlapping). Errors name the file and the problem.
SafetensorsFile read_safetensors(const std::string& path);
// Writes to a temporary file beside `path` and renames it into place.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

}  // namespace genrnn
