#include "core/safetensors.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/atomic_file.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"

// Tensor bytes are copied to and from memory as they are: the format is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace genrnn {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  std::size_t size;
};
constexpr DTypeInfo dtype_table[] = {
    {DType::f32, "F32", 4}, {DType::f64, "F64", 8}, {DType::i64, "I64", 8}, {DType::i32, "I32", 4}};

const DTypeInfo& info(DType dtype) {
  for (const auto& entry : dtype_table)
    if (entry.dtype == dtype) return entry;
  throw Error("unknown safetensors dtype");
}

std::optional<DType> parse_dtype(const std::string& name) {
  for (const auto& entry : dtype_table)
    if (name == entry.name) return entry.dtype;
  return std::nullopt;
}

std::string shape_text(const std::vector<int64_t>& shape) { return nlohmann::json(shape).dump(); }

// Element count times dtype size; nullopt for a negative dimension or a size past 64 bits.
std::optional<uint64_t> byte_size(const std::vector<int64_t>& shape, DType dtype) {
  if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; })) return std::nullopt;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  uint64_t bytes = info(dtype).size;
  for (auto dim : shape) {
    if (bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dim)) return std::nullopt;
    bytes *= static_cast<uint64_t>(dim);
  }
  return bytes;
}

template <typename T>
SafeTensor make_tensor(DType dtype, std::vector<int64_t> shape, const T* data) {
  const auto size = byte_size(shape, dtype);
  if (!size) throw Error("invalid tensor shape " + shape_text(shape));
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  return {dtype, std::move(shape), std::vector<unsigned char>(bytes, bytes + *size)};
}

template <typename T>
std::vector<T> tensor_values(const SafeTensor& tensor, DType expected) {
  if (tensor.dtype != expected)
    throw Error(std::string("tensor has dtype ") + info(tensor.dtype).name + "; expected " + info(expected).name);
  std::vector<T> values(tensor.numel());
  std::memcpy(values.data(), tensor.bytes.data(), values.size() * sizeof(T));
  return values;
}

// A header entry that passed validation: where its bytes lie in the data section.
struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// Non-negative JSON integer that fits in int64 (nlohmann parses non-negative integers as unsigned).
std::optional<int64_t> non_negative_integer(const nlohmann::json& value) {
  if (!value.is_number_unsigned()) return std::nullopt;
  const auto n = value.get<uint64_t>();
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(n);
}

// Validates one tensor entry of the header against a data section of `data_size` bytes;
// throws Error (without the file name) on the first problem.
TensorEntry parse_entry(const std::string& name, const nlohmann::json& entry, uint64_t data_size) {
  const std::string where = "tensor '" + name + "': ";
  if (!entry.is_object()) throw Error(where + "entry is not a JSON object");

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) throw Error(where + "no \"dtype\" string");
  const auto dtype = parse_dtype(dtype_it->get<std::string>());
  if (!dtype) throw Error(where + "unsupported dtype " + dtype_it->dump() + " (expected F32, F64, I64 or I32)");

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) throw Error(where + "no \"shape\" array");
  std::vector<int64_t> shape;
  for (const auto& dim : *shape_it) {
    const auto value = non_negative_integer(dim);
    if (!value) throw Error(where + "shape " + shape_it->dump() + " is not a list of non-negative integers");
    shape.push_back(*value);
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !non_negative_integer((*offsets_it)[0]) || !non_negative_integer((*offsets_it)[1]))
    throw Error(where + "\"data_offsets\" is not a pair of non-negative integers");
  const auto begin = static_cast<uint64_t>(*non_negative_integer((*offsets_it)[0]));
  const auto end = static_cast<uint64_t>(*non_negative_integer((*offsets_it)[1]));
  const std::string offsets = "data_offsets " + offsets_it->dump();
  if (begin > end) throw Error(where + offsets + ": begin is after end");
  if (end > data_size) throw Error(where + offsets + " reach past the " + std::to_string(data_size) + " bytes of data");

  const auto expected = byte_size(shape, *dtype);
  if (!expected || *expected != end - begin)
    throw Error(where + "shape " + shape_text(shape) + " of " + info(*dtype).name + " does not match its " +
                std::to_string(end - begin) + " bytes of data");
  return {name, *dtype, std::move(shape), begin, end};
}

void reject_overlaps(std::vector<TensorEntry> entries) {
  // Empty tensors occupy no bytes, so they cannot overlap anything.
  entries.erase(std::remove_if(entries.begin(), entries.end(), [](const TensorEntry& e) { return e.begin == e.end; }),
                entries.end());
  std::sort(entries.begin(), entries.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < entries.size(); ++i)
    if (entries[i].begin < entries[i - 1].end)
      throw Error("tensors '" + entries[i - 1].name + "' and '" + entries[i].name + "' overlap in the data");
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& metadata) {
  if (!metadata.is_object()) throw Error("__metadata__ is not a JSON object");
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) throw Error("metadata '" + key + "' is not a string");
    result[key] = value.get<std::string>();
  }
  return result;
}

}  // namespace

std::size_t SafeTensor::numel() const {
  std::size_t n = 1;
  for (auto dim : shape) n *= static_cast<std::size_t>(dim);
  return n;
}

SafeTensor SafeTensor::from_f32(std::vector<int64_t> shape, const float* data) {
  return make_tensor(DType::f32, std::move(shape), data);
}

SafeTensor SafeTensor::from_i64(std::vector<int64_t> shape, const int64_t* data) {
  return make_tensor(DType::i64, std::move(shape), data);
}

std::vector<float> SafeTensor::to_f32() const { return tensor_values<float>(*this, DType::f32); }

std::vector<int64_t> SafeTensor::to_i64() const { return tensor_values<int64_t>(*this, DType::i64); }

SafetensorsFile read_safetensors(const std::string& path) {
  auto fail = [&path](const std::string& problem) -> Error { return Error(path + ": " + problem); };

  std::error_code error;
  const uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) throw fail("cannot read: " + error.message());
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(std::string("cannot open: ") + (errno != 0 ? std::strerror(errno) : "unknown error"));
  auto read_at = [&](uint64_t position, void* into, uint64_t count) {
    in.seekg(static_cast<std::streamoff>(position));
    in.read(static_cast<char*>(into), static_cast<std::streamsize>(count));
    if (!in) throw fail("read failed at byte " + std::to_string(position) + " (was the file changed?)");
  };

  if (file_size < 8)
    throw fail("truncated: " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");
  unsigned char length_bytes[8];
  read_at(0, length_bytes, 8);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | length_bytes[i];
  if (header_size > limits::max_header_bytes)
    throw fail("header length " + std::to_string(header_size) + " exceeds the limit of " +
               std::to_string(limits::max_header_bytes) + " bytes");
  if (header_size > file_size - 8)
    throw fail("truncated: header says " + std::to_string(header_size) + " bytes but the file has only " +
               std::to_string(file_size - 8) + " after the length");
  std::string header_text(header_size, '\0');
  read_at(8, header_text.data(), header_size);

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const std::size_t tensor_count = header.size() - header.count("__metadata__");
  if (tensor_count > limits::max_tensors)
    throw fail("the header lists " + std::to_string(tensor_count) + " tensors; the limit is " +
               std::to_string(limits::max_tensors));

  const uint64_t data_start = 8 + header_size;
  SafetensorsFile file;
  std::vector<TensorEntry> entries;
  try {
    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__")
        file.metadata = parse_metadata(value);
      else
        entries.push_back(parse_entry(name, value, file_size - data_start));
    }
    reject_overlaps(entries);
  } catch (const Error& e) {
    throw fail(e.what());
  }
  uint64_t tensor_bytes = 0;  // no overflow: the tensors do not overlap inside the file
  for (const auto& entry : entries) tensor_bytes += entry.end - entry.begin;
  if (const uint64_t available = available_memory_bytes(); tensor_bytes > available)
    throw fail("its " + std::to_string(tensor_bytes) + " bytes of tensors do not fit in the " +
               std::to_string(available) + " bytes of memory available");

  for (auto& entry : entries) {
    SafeTensor tensor{entry.dtype, std::move(entry.shape), std::vector<unsigned char>(entry.end - entry.begin)};
    read_at(data_start + entry.begin, tensor.bytes.data(), tensor.bytes.size());
    file.tensors.emplace(entry.name, std::move(tensor));
  }
  return file;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::ordered_json header;
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == "__metadata__") throw Error("cannot write " + path + ": \"__metadata__\" is not a tensor name");
    const auto expected = byte_size(tensor.shape, tensor.dtype);
    if (!expected || *expected != tensor.bytes.size())
      throw Error("cannot write " + path + ": tensor '" + name + "' has " + std::to_string(tensor.bytes.size()) +
                  " bytes, which does not match shape " + shape_text(tensor.shape) + " of " + info(tensor.dtype).name);
    header[name] = {{"dtype", info(tensor.dtype).name},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // names or metadata that are not UTF-8
    throw Error("cannot write " + path + ": " + e.what());
  }
  // Padding keeps the data section 8-byte aligned, as the format recommends.
  header_text.resize((header_text.size() + 7) / 8 * 8, ' ');

  write_file_atomically(path, [&](std::ostream& out) {
    unsigned char length_bytes[8];
    for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(header_text.size() >> (8 * i));
    out.write(reinterpret_cast<const char*>(length_bytes), 8);
    out << header_text;
    for (const auto& entry : file.tensors)
      out.write(reinterpret_cast<const char*>(entry.second.bytes.data()),
                static_cast<std::streamsize>(entry.second.bytes.size()));
  });
}

}  // namespace genrnn
