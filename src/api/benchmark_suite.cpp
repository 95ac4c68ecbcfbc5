#include <fstream>
#include <nlohmann/json.hpp>

#include "genrnn/benchmark.hpp"
#include "genrnn/error.hpp"

namespace genrnn {

namespace {

using nlohmann::json;

const json& member(const json& object, const std::string& key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) throw Error(where + " lacks \"" + key + "\"");
  return object.at(key);
}

}  // namespace

std::vector<BenchCase> standard_bench_cases(const std::string& path, const std::string& suite_name, Device device) {
  std::ifstream file(path);
  if (!file) throw Error("cannot open benchmark configurations '" + path + "'");
  json root;
  try {
    root = json::parse(file);
    const json& suite = member(member(root, "suites", path), suite_name, path + ": suites");
    const json& models = member(root, "models", path);
    std::vector<BenchCase> cases;
    for (const auto& name : member(suite, "models", path + ": suite " + suite_name)) {
      const json& m = member(models, name.get<std::string>(), path + ": models");
      BenchCase base;
      base.device = device;
      base.config_name = name.get<std::string>();
      base.model.cell = parse_cell(m.at("cell").get<std::string>());
      base.model.num_layers = m.at("layers").get<int>();
      base.model.hidden_size = m.at("hidden").get<int>();
      base.model.embedding_dim = m.at("embed").get<int>();
      base.model.vocab_size = m.at("vocab").get<int>();
      base.model.validate();
      base.batch = m.at("batch").get<int>();
      base.seq_len = m.at("seq_len").get<int>();
      for (BenchTest test : {BenchTest::train, BenchTest::prefill})
        if (suite.contains(to_string(test))) {
          cases.push_back(base);
          cases.back().test = test;
        }
      if (suite.contains("decode"))
        for (int batch : suite["decode"].at("batch")) {
          cases.push_back(base);
          cases.back().test = BenchTest::decode;
          cases.back().batch = batch;
          cases.back().n_decode = suite["decode"].at("n_decode").get<int>();
        }
    }
    if (suite.contains("sample"))
      for (int vocab : suite["sample"].at("vocab"))
        for (int batch : suite["sample"].at("batch")) {
          BenchCase sample;
          sample.test = BenchTest::sample;
          sample.device = device;
          sample.model.vocab_size = vocab;
          sample.batch = batch;
          cases.push_back(sample);
        }
    return cases;
  } catch (const json::exception& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace genrnn
