#pragma once
// gen_cuda serve's HTTP side, on cpp-httplib: the page, /health, /v1/models, /v1/completions
// (plain or as server-sent events) and /metrics, in front of one StreamScheduler.
#include <genrnn/serving.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "completion_api.hpp"
#include "serve_metrics.hpp"

namespace httplib {
class Server;
}

namespace gen_cuda {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;         // 0: any free port
  std::string api_key;     // empty: none asked for
  std::string model_name;  // what /v1/models and the responses call the model
  CompletionLimits limits;
  std::size_t max_body_bytes = 1 << 20;
  int max_connections = 256;  // open at once, at most ~1000 (cpp-httplib's select()); more are answered 503
  int timeout_seconds = 60;   // for a client to send a request, or to read what is written to it
  // A stream's events are at least this far apart (the tokens between share one): a write per
  // token per stream would cost more than the decoding at many streams. 0: as they come.
  std::chrono::milliseconds stream_interval{20};
};

class CompletionServer {
 public:
  explicit CompletionServer(ServeOptions options);
  ~CompletionServer();
  CompletionServer(const CompletionServer&) = delete;
  CompletionServer& operator=(const CompletionServer&) = delete;

  // Binds to host:port and answers from a thread of its own: /health says 503 until serve().
  // Returns the port. Throws genrnn::Error where it cannot bind.
  int listen();
  // Completions from now on come from `scheduler`, which must outlive stop().
  void serve(genrnn::StreamScheduler& scheduler);
  // Waits (within `wait` in all) for the streamed responses to be written to their end, stops
  // listening and waits for the connections' threads: each ends once its request in flight is
  // answered. Returns false when some were still open: their threads still use the server, so
  // the process should then end without destroying it.
  bool stop(std::chrono::milliseconds wait);

 private:
  struct Routes;

  ServeOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listening_;
  std::future<void> listened_;  // ready once listening_ has nothing left to do
  std::atomic<genrnn::StreamScheduler*> scheduler_{nullptr};
  std::atomic<int> open_streams_{0};  // streamed responses not yet written to their end
  ServeMetrics metrics_;
};

}  // namespace gen_cuda
