#include "serve_metrics.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace gen_cuda {

void LatencyHistogram::add(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  if (bucket < static_cast<std::ptrdiff_t>(bounds.size())) ++counts_[static_cast<std::size_t>(bucket)];
  ++count_;
  sum_ += seconds;
}

std::string LatencyHistogram::prometheus(const std::string& name, const std::string& help) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
  uint64_t cumulative = 0;
  for (std::size_t k = 0; k < bounds.size(); ++k) {
    cumulative += counts_[k];
    out << name << "_bucket{le=\"" << bounds[k] << "\"} " << cumulative << '\n';
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << '\n'
      << name << "_sum " << std::setprecision(17) << sum_ << '\n'
      << name << "_count " << count_ << '\n';
  return out.str();
}

void ServeMetrics::request_answered(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
}

std::string ServeMetrics::prometheus(int active_streams, int queued_streams, int slots) const {
  std::ostringstream out;
  out << "# HELP genrnn_requests_total HTTP requests answered, by route and status.\n"
      << "# TYPE genrnn_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, count] : requests_)
      out << "genrnn_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << count << '\n';
  }
  out << "# HELP genrnn_tokens_generated_total Tokens drawn, over every stream.\n"
      << "# TYPE genrnn_tokens_generated_total counter\n"
      << "genrnn_tokens_generated_total " << tokens_.load() << '\n'
      << "# HELP genrnn_streams_active Streams decoding in the batch now.\n"
      << "# TYPE genrnn_streams_active gauge\n"
      << "genrnn_streams_active " << active_streams << '\n'
      << "# HELP genrnn_streams_queued Streams waiting for a free slot.\n"
      << "# TYPE genrnn_streams_queued gauge\n"
      << "genrnn_streams_queued " << queued_streams << '\n'
      << "# HELP genrnn_slots Streams the batch decodes at most (--parallel).\n"
      << "# TYPE genrnn_slots gauge\n"
      << "genrnn_slots " << slots << '\n'
      << first_token_.prometheus("genrnn_time_to_first_token_seconds",
                                 "From a completion request's arrival to its first token, per stream.")
      << between_tokens_.prometheus("genrnn_time_between_tokens_seconds", "Between a stream's successive tokens.");
  return out.str();
}

}  // namespace gen_cuda
