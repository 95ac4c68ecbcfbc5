#pragma once
#include <genrnn/benchmark.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace gen_cuda {

// md: a table for people; csv and json: the records tools/bench_pytorch.py also writes, so
// tools/bench_report.py can put both side by side.
void print_bench_results(const std::vector<genrnn::BenchResult>& results, const std::string& format,
                         std::ostream& out);

}  // namespace gen_cuda
