#include "core/safetensors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"
#include "tests/support/scratch_folder.hpp"

namespace genrnn {
namespace {

namespace fs = std::filesystem;

std::vector<unsigned char> random_bytes(std::size_t count, std::mt19937_64& rng) {
  std::vector<unsigned char> bytes(count);
  for (auto& b : bytes) b = static_cast<unsigned char>(rng());
  return bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A safetensors file assembled by hand: little-endian header length, header, data.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(uint64_t{header.size()} >> (8 * i)));
  return bytes + header + data;
}

// The message read_safetensors throws for `path`, or "" when it loads.
std::string load_error(const std::string& path) {
  try {
    read_safetensors(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return scratch_.file(name); }

  // Writes a hand-made file and expects loading it to fail with a one-line message that names
  // the file and contains `problem`.
  void expect_rejected(const std::string& header, const std::string& data, const std::string& problem) {
    const auto file = path("bad.safetensors");
    write_bytes(file, raw_file(header, data));
    const auto message = load_error(file);
    EXPECT_NE(message.find(file + ": "), std::string::npos) << "header: " << header << "\nmessage: " << message;
    EXPECT_NE(message.find(problem), std::string::npos) << "header: " << header << "\nmessage: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }

  genrnn::testing::ScratchFolder scratch_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeShapeAndMetadata) {
  std::mt19937_64 rng(7);
  SafetensorsFile file;
  file.metadata = {{"format", "pt"}, {"note", "héllo, 世界 \"quoted\"\n"}, {"empty", ""}};
  file.tensors["a.f32"] = {DType::f32, {3, 5}, random_bytes(3 * 5 * 4, rng)};
  file.tensors["b.f64"] = {DType::f64, {2, 1, 3}, random_bytes(2 * 3 * 8, rng)};
  file.tensors["c.i64"] = {DType::i64, {7}, random_bytes(7 * 8, rng)};
  file.tensors["d.i32"] = {DType::i32, {1, 1}, random_bytes(4, rng)};
  file.tensors["scalar"] = {DType::f32, {}, random_bytes(4, rng)};
  file.tensors["empty"] = {DType::f64, {0, 4}, {}};
  write_safetensors(path("m.safetensors"), file);

  const auto loaded = read_safetensors(path("m.safetensors"));
  EXPECT_EQ(loaded.metadata, file.metadata);
  ASSERT_EQ(loaded.tensors.size(), file.tensors.size());
  for (const auto& [name, tensor] : file.tensors) {
    SCOPED_TRACE(name);
    const auto& got = loaded.tensors.at(name);
    EXPECT_EQ(got.dtype, tensor.dtype);
    EXPECT_EQ(got.shape, tensor.shape);
    EXPECT_EQ(got.bytes, tensor.bytes);
  }
}

TEST_F(SafetensorsTest, TypedConstructorsAndAccessorsRoundTrip) {
  const std::vector<float> floats = {1.5f, -2.25f, 3e-38f, 0.0f, -0.0f, 1e30f};
  const std::vector<int64_t> ints = {-1, 0, int64_t{1} << 62, 42};
  const auto f = SafeTensor::from_f32({2, 3}, floats.data());
  const auto i = SafeTensor::from_i64({4}, ints.data());
  EXPECT_EQ(f.numel(), 6u);
  EXPECT_EQ(f.bytes.size(), 24u);
  EXPECT_EQ(f.to_f32(), floats);
  EXPECT_EQ(i.to_i64(), ints);
  EXPECT_THROW(f.to_i64(), Error);
  EXPECT_THROW(i.to_f32(), Error);
  EXPECT_THROW(SafeTensor::from_f32({-1}, floats.data()), Error);
}

TEST_F(SafetensorsTest, WriterPadsHeaderAndLaysTensorsOutInNameOrder) {
  const std::vector<float> values = {1, 2, 3};
  SafetensorsFile file;
  file.metadata["k"] = "v";
  file.tensors["z"] = SafeTensor::from_f32({3}, values.data());
  file.tensors["a"] = SafeTensor::from_f32({1}, values.data());
  write_safetensors(path("m.safetensors"), file);

  const auto bytes = read_bytes(path("m.safetensors"));
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + header_size + 16);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_size));
  EXPECT_EQ(header["__metadata__"]["k"], "v");
  EXPECT_EQ(header["a"]["data_offsets"], nlohmann::json({0, 4}));
  EXPECT_EQ(header["z"]["data_offsets"], nlohmann::json({4, 16}));
  EXPECT_EQ(header["z"]["dtype"], "F32");
  EXPECT_EQ(header["z"]["shape"], nlohmann::json({3}));
  float z[3];
  std::memcpy(z, bytes.data() + 8 + header_size + 4, sizeof z);
  EXPECT_EQ(std::vector<float>(z, z + 3), values);
}

TEST_F(SafetensorsTest, WriterRejectsBytesThatDoNotMatchTheShape) {
  SafetensorsFile file;
  file.tensors["w"] = {DType::f32, {2, 2}, std::vector<unsigned char>(12)};
  try {
    write_safetensors(path("m.safetensors"), file);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("m.safetensors")));
}

TEST_F(SafetensorsTest, LoadsAFileWrittenByHand) {
  // Unpadded header, keys in no particular order, extra entry keys ignored, data with a gap.
  const std::string header =
      R"({"b":{"shape":[2],"dtype":"I64","data_offsets":[8,24]},)"
      R"("__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1},)"
      R"("i":{"dtype":"I32","shape":[],"data_offsets":[28,32]}})";
  std::string data;
  const float a[2] = {0.5f, -7.0f};
  const int64_t b[2] = {-3, 1234567890123};
  const int32_t i = -99;
  data.append(reinterpret_cast<const char*>(a), 8);
  data.append(reinterpret_cast<const char*>(b), 16);
  data.append(4, '\xff');
  data.append(reinterpret_cast<const char*>(&i), 4);
  write_bytes(path("hand.safetensors"), raw_file(header, data));

  const auto file = read_safetensors(path("hand.safetensors"));
  EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.tensors.at("a").to_f32(), std::vector<float>({0.5f, -7.0f}));
  EXPECT_EQ(file.tensors.at("b").to_i64(), std::vector<int64_t>({-3, 1234567890123}));
  const auto& scalar = file.tensors.at("i");
  EXPECT_EQ(scalar.dtype, DType::i32);
  EXPECT_TRUE(scalar.shape.empty());
  int32_t got;
  std::memcpy(&got, scalar.bytes.data(), 4);
  EXPECT_EQ(got, i);
}

TEST_F(SafetensorsTest, RejectsTheFileCutAtEveryPoint) {
  std::mt19937_64 rng(3);
  SafetensorsFile file;
  file.metadata["genrnn.config"] = "{}";
  file.tensors["w"] = {DType::f32, {4, 3}, random_bytes(48, rng)};
  file.tensors["b"] = {DType::i64, {2}, random_bytes(16, rng)};
  write_safetensors(path("full.safetensors"), file);
  const auto bytes = read_bytes(path("full.safetensors"));

  const auto cut = path("cut.safetensors");
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    write_bytes(cut, bytes.substr(0, size));
    const auto message = load_error(cut);
    EXPECT_NE(message.find(cut + ": "), std::string::npos) << "cut at " << size << ": " << message;
  }
  write_bytes(cut, bytes.substr(0, 5));
  EXPECT_NE(load_error(cut).find("truncated"), std::string::npos);
  write_bytes(cut, bytes.substr(0, 20));
  EXPECT_NE(load_error(cut).find("truncated"), std::string::npos);
  write_bytes(cut, bytes.substr(0, bytes.size() - 1));
  EXPECT_NE(load_error(cut).find("reach past"), std::string::npos);
}

TEST_F(SafetensorsTest, RejectsAMissingFileNamingIt) {
  const auto missing = path("nowhere.safetensors");
  const auto message = load_error(missing);
  EXPECT_NE(message.find(missing), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  EXPECT_NE(load_error(scratch_.path().string()).find(scratch_.path().string() + ": "), std::string::npos);
}

TEST_F(SafetensorsTest, RejectsAHeaderLengthPastTheEndOrOverTheLimit) {
  std::string bytes = raw_file("{}", "");
  bytes[0] = static_cast<char>(0xe8);  // 1000
  bytes[1] = 3;
  write_bytes(path("bad.safetensors"), bytes);
  EXPECT_NE(load_error(path("bad.safetensors")).find("truncated: header says 1000 bytes but the file has only 2"),
            std::string::npos)
      << load_error(path("bad.safetensors"));

  bytes[7] = 1;  // 2^56 + 1000
  write_bytes(path("bad.safetensors"), bytes);
  EXPECT_NE(load_error(path("bad.safetensors")).find("exceeds the limit"), std::string::npos);
}

TEST_F(SafetensorsTest, RejectsMoreTensorsThanTheLimit) {
  std::string header = "{";
  for (std::size_t k = 0; k <= limits::max_tensors; ++k)
    header += (k ? ",\"t" : "\"t") + std::to_string(k) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  write_bytes(path("too_many.safetensors"), raw_file(header + "}", ""));
  const std::string message = load_error(path("too_many.safetensors"));  // not the header: 4 MB
  EXPECT_NE(message.find("lists " + std::to_string(limits::max_tensors + 1) + " tensors; the limit is " +
                         std::to_string(limits::max_tensors)),
            std::string::npos)
      << message;
  // One fewer is a valid file of empty tensors.
  header.erase(header.rfind(",\"t"));
  write_bytes(path("many.safetensors"), raw_file(header + "}", ""));
  EXPECT_EQ(read_safetensors(path("many.safetensors")).tensors.size(), limits::max_tensors);
}

TEST_F(SafetensorsTest, RejectsHeadersThatAreNotAJsonObject) {
  expect_rejected("{\"a\": ", "", "not valid JSON");
  expect_rejected("", "", "not valid JSON");
  expect_rejected("[1, 2]", "", "not a JSON object");
  expect_rejected("{\"a\": 3}", "", "tensor 'a': entry is not a JSON object");
}

TEST_F(SafetensorsTest, RejectsBadMetadata) {
  expect_rejected(R"({"__metadata__": ["x"]})", "", "__metadata__ is not a JSON object");
  expect_rejected(R"({"__metadata__": {"n": 3}})", "", "metadata 'n' is not a string");
}

TEST_F(SafetensorsTest, RejectsBadDtypes) {
  const std::string data(8, '\0');
  expect_rejected(R"({"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}})", data,
                  "tensor 'w': unsupported dtype \"F16\"");
  expect_rejected(R"({"w": {"dtype": "f32", "shape": [2], "data_offsets": [0, 8]}})", data, "unsupported dtype");
  expect_rejected(R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", data, "no \"dtype\"");
  expect_rejected(R"({"w": {"dtype": 1, "shape": [2], "data_offsets": [0, 8]}})", data, "no \"dtype\"");
}

TEST_F(SafetensorsTest, RejectsBadShapes) {
  const std::string data(8, '\0');
  for (const std::string shape : {"[-2]", "[2.0]", "[\"2\"]", "[9223372036854775808]", "[[2]]"})
    expect_rejected(R"({"w": {"dtype": "F32", "shape": )" + shape + R"(, "data_offsets": [0, 8]}})", data,
                    "is not a list of non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}})", data, "no \"shape\" array");
}

TEST_F(SafetensorsTest, RejectsOffsetsOutOfRange) {
  const std::string data(8, '\0');
  const std::string head = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": )";
  expect_rejected(head + "[0, 12]}}", data, "data_offsets [0,12] reach past the 8 bytes of data");
  expect_rejected(head + "[4, 12]}}", data, "reach past");
  expect_rejected(head + "[8, 0]}}", data, "begin is after end");
  for (const std::string offsets : {"[0]", "[0, 8, 8]", "[-8, 0]", "[0, 8.0]", "\"0,8\"", "[0, 18446744073709551615]"})
    expect_rejected(head + offsets + "}}", data, "\"data_offsets\" is not a pair of non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2]}})", data, "\"data_offsets\"");
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  const std::string data(12, '\0');
  expect_rejected(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                  R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                  data, "tensors 'a' and 'b' overlap");
  expect_rejected(R"({"a": {"dtype": "I32", "shape": [3], "data_offsets": [0, 12]},)"
                  R"( "b": {"dtype": "I32", "shape": [1], "data_offsets": [4, 8]}})",
                  data, "overlap");
  // Touching tensors and empty tensors anywhere are fine.
  write_bytes(path("ok.safetensors"), raw_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                                               R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},)"
                                               R"( "e": {"dtype": "F64", "shape": [0, 3], "data_offsets": [6, 6]}})",
                                               data));
  EXPECT_EQ(load_error(path("ok.safetensors")), "");
}

TEST_F(SafetensorsTest, RejectsShapesThatDoNotMatchTheByteSize) {
  const std::string data(16, '\0');
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", data,
                  "tensor 'w': shape [3] of F32 does not match its 8 bytes of data");
  expect_rejected(R"({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}})", data, "does not match");
  expect_rejected(R"({"w": {"dtype": "I32", "shape": [], "data_offsets": [0, 8]}})", data, "does not match");
  // Dimensions whose product overflows 64 bits must not wrap around to a matching size.
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 0]}})", data,
                  "does not match");
  expect_rejected(R"({"w": {"dtype": "I64", "shape": [2305843009213693952, 1], "data_offsets": [0, 0]}})", data,
                  "does not match");
}

}  // namespace
}  // namespace genrnn
