#pragma once
#include <genrnn/benchmark.hpp>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace gen_cuda {

// md: a table for people; csv and json: the records tools/bench_pytorch.py also writes, so
// tools/bench_report.py can put both side by side. Each result is printed (and flushed) as it
// comes, so a run cut short keeps what it measured: a JSON array then lacks only its "]".
class BenchPrinter {
 public:
  BenchPrinter(std::string format, std::ostream& out);
  void print(const genrnn::BenchResult& result);
  void finish();  // json: the closing "]"; md: the notes on decoders that did not run as asked

 private:
  std::string format_;
  std::ostream& out_;
  nlohmann::ordered_json commit_;
  int printed_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace gen_cuda
