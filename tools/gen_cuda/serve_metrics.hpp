#pragma once
// gen_cuda serve's /metrics, in Prometheus' text format (version 0.0.4): requests by route and
// status, tokens generated, streams running and queued, and histograms of the time to the first
// token and between tokens. Every method may be called from any thread.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace gen_cuda {

// Cumulative buckets of seconds, as Prometheus' histograms count them.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  void add(double seconds);
  // `name`'s _bucket, _sum and _count lines, with its HELP and TYPE.
  std::string prometheus(const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mutex_;
  std::array<uint64_t, bounds.size()> counts_{};  // per bucket, not yet cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

class ServeMetrics {
 public:
  void request_answered(const std::string& route, int status);
  void tokens_generated(uint64_t count) { tokens_ += count; }
  void first_token(double seconds) { first_token_.add(seconds); }
  void between_tokens(double seconds) { between_tokens_.add(seconds); }
  std::string prometheus(int active_streams, int queued_streams, int slots) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> tokens_{0};
  LatencyHistogram first_token_, between_tokens_;
};

}  // namespace gen_cuda
