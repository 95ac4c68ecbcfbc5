#pragma once
// Continuous batching: one thread decodes up to `slots` streams of many requests as one batch.
// A new stream is prefilled into a free slot and joins the batch at the next step; a stream that
// ends frees its slot at once; streams beyond the slots wait in a bounded queue. gen_cuda serve
// is built on it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genrnn/device.hpp"
#include "genrnn/error.hpp"
#include "genrnn/model.hpp"
#include "genrnn/sampling.hpp"

namespace genrnn {

// One stream to decode: a request's choice.
struct ScheduledStream {
  std::vector<int> prompt;  // token ids, at least one; the stream starts from a zero state
  // Its draws are keyed by (sampling.seed, stream), its t-th token at position t: choice i of a
  // request with seed s draws what Generator::generate draws as sample i (num_samples, seed s),
  // whatever else runs beside it. (The logits of a batch of another size may differ in their
  // last bits, as the CPU engine's products change kernels with the batch; a draw can differ
  // only where u falls that close to a boundary, as sample_token's CPU and GPU draws do.)
  SamplingOptions sampling;
  uint64_t stream = 0;
  int max_tokens = 16;                                // at least 1
  std::vector<std::string> stops;                     // the text ends before the first of these it contains
  static constexpr std::size_t max_stop_bytes = 256;  // each stop is checked at every token
  int logprobs = -1;                                  // -1: none; else the drawn token's and the `logprobs` likeliest
};

// One of the likeliest tokens at a step, ranked by the model.
struct TokenAlternative {
  int token;
  std::string piece;     // its text after the stream's previous token
  double logprob;        // in the distribution drawn from (-inf: excluded by temperature 0, top-k or top-p)
  double model_logprob;  // in the model's own distribution (temperature 1, nothing excluded)
};

struct StreamToken {
  int token;
  std::string piece;  // the token's own text
  // The text this step releases. Text that may be the start of a stop string is held back until
  // it is known not to be (so a stop string never reaches the client), then released with a
  // later token; the last token releases everything before the stop.
  std::string text;
  double logprob = 0;  // of `token` in the distribution drawn from; with logprobs >= 0
  // The `logprobs` likeliest tokens, and the drawn one last where it is not among them.
  std::vector<TokenAlternative> top;
};

enum class StreamEnd {
  running,    // more tokens follow
  length,     // max_tokens reached
  stop,       // a stop string reached
  cancelled,  // cancelled, or ended by shutdown
  failed,     // the engine failed (StreamScheduler::failure() says why)
};

// Called on the scheduler's thread, for a request's `choice`: once per token (token non-null;
// `end` is length or stop with the last), and, for a stream cancelled or failed, one last time
// with token null. Must not block; returning false cancels the stream.
using StreamObserver = std::function<bool(int choice, const StreamToken* token, StreamEnd end)>;

// What cancels a submitted request's streams: their slots are free within one step.
class StreamTicket {
 public:
  void cancel() const { cancelled_->store(true); }
  bool cancelled() const { return cancelled_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

// submit() when the queue has no room (HTTP 429), or after shutdown began or the engine broke (503).
class SchedulerBusy : public Error {
 public:
  SchedulerBusy(const std::string& message, bool shutting_down) : Error(message), shutting_down(shutting_down) {}
  bool shutting_down;
};

struct SchedulerOptions {
  int slots = 16;        // streams decoded together, 1 to limits::max_streams
  int max_queued = 256;  // streams waiting for a slot
};

class StreamScheduler {
 public:
  // Makes the decoding engine (as Generator does) and starts the scheduler's thread.
  StreamScheduler(Model model, const EngineOptions& engine, const SchedulerOptions& options);
  // shutdown(0), then waits for the thread.
  ~StreamScheduler();
  StreamScheduler(const StreamScheduler&) = delete;
  StreamScheduler& operator=(const StreamScheduler&) = delete;

  const Model& model() const { return model_; }
  const std::string& engine_name() const;
  int slots() const { return options_.slots; }
  int max_queued() const { return options_.max_queued; }

  // Queues a request's streams, all or none (SchedulerBusy); `observer` hears each with its
  // index in `streams`. Throws Error for a stream that is not valid (an empty prompt, ids outside
  // the vocabulary, max_tokens < 1, sampling out of range).
  StreamTicket submit(std::vector<ScheduledStream> streams, StreamObserver observer);

  struct Load {
    int active = 0;
    int queued = 0;
  };
  Load load() const;
  // Why the last stream that failed did; empty while none has.
  std::string failure() const;
  // The engine failed mid-step: every stream failed, and submit() refuses.
  bool broken() const;
  // submit() takes requests: not broken, and no shutdown() yet.
  bool accepting() const;

  // Takes no more requests and cancels the queued ones; streams in flight may run for `grace`,
  // then are cancelled. Returns at once; the destructor waits.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  struct Pending;
  struct Running;
  void run();
  int draw(Running& running, const float* logits);

  Model model_;
  SchedulerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace genrnn
