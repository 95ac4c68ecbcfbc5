#pragma once
// One completion request between the scheduler's thread, which hands it tokens, and the HTTP
// thread that answers it: each choice's news is buffered until that thread takes it.
#include <genrnn/serving.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serve_metrics.hpp"

namespace gen_cuda {

// What a choice gained since the last take().
struct ChoiceNews {
  int index = 0;
  std::string text;                         // released text
  std::vector<genrnn::StreamToken> tokens;  // the tokens drawn
  genrnn::StreamEnd end = genrnn::StreamEnd::running;
};

class CompletionJob : public std::enable_shared_from_this<CompletionJob> {
 public:
  using Clock = std::chrono::steady_clock;
  CompletionJob(int choices, ServeMetrics& metrics);

  // For StreamScheduler::submit: it keeps the job alive while the scheduler may call it.
  genrnn::StreamObserver observer();
  // The HTTP thread's: the ticket submit returned, and abandoning the request (its client left).
  void set_ticket(genrnn::StreamTicket ticket) { ticket_ = std::move(ticket); }
  void cancel() {
    abandoned_ = true;
    ticket_.cancel();
  }

  // Takes the news, the choices with some in order: once there is news and `not_before` has
  // passed (at once when every choice has ended), or at `deadline` with whatever there is.
  std::vector<ChoiceNews> take(Clock::time_point not_before, Clock::time_point deadline);
  // Every choice has ended and its end has been taken.
  bool finished() const;
  int completion_tokens() const;

 private:
  bool all_ended() const;  // with mutex_ held

  struct Choice {
    ChoiceNews news;
    bool ended = false, end_taken = false;
    int tokens = 0;
    Clock::time_point last_token;
  };
  ServeMetrics& metrics_;
  const Clock::time_point received_ = Clock::now();
  genrnn::StreamTicket ticket_;
  std::atomic<bool> abandoned_{false};
  mutable std::mutex mutex_;
  std::condition_variable news_;
  std::vector<Choice> choices_;
  bool has_news_ = false;
  bool waiting_for_news_ = false;
};

}  // namespace gen_cuda
