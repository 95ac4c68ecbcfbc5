#include "completion_job.hpp"

#include <algorithm>

namespace gen_cuda {

CompletionJob::CompletionJob(int choices, ServeMetrics& metrics) : metrics_(metrics), choices_(choices) {
  for (int k = 0; k < choices; ++k) choices_[k].news.index = k;
}

genrnn::StreamObserver CompletionJob::observer() {
  return [this, self = shared_from_this()](int index, const genrnn::StreamToken* token, genrnn::StreamEnd end) {
    const Clock::time_point now = Clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    Choice& choice = choices_[index];
    if (token) {
      const double seconds =
          std::chrono::duration<double>(now - (choice.tokens ? choice.last_token : received_)).count();
      choice.tokens ? metrics_.between_tokens(seconds) : metrics_.first_token(seconds);
      metrics_.tokens_generated(1);
      choice.last_token = now;
      ++choice.tokens;
      choice.news.text += token->text;
      choice.news.tokens.push_back(*token);
    }
    if (end != genrnn::StreamEnd::running) {
      choice.news.end = end;
      choice.ended = true;
    }
    // The taking thread wakes for the first news it waits for, or when every choice has ended;
    // not for each token while it waits out not_before (a wake-up per stream per step).
    if ((waiting_for_news_ && !has_news_) || (end != genrnn::StreamEnd::running && all_ended())) news_.notify_all();
    has_news_ = true;
    return !abandoned_;
  };
}

bool CompletionJob::all_ended() const {
  for (const Choice& choice : choices_)
    if (!choice.ended) return false;
  return true;
}

std::vector<ChoiceNews> CompletionJob::take(Clock::time_point not_before, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  news_.wait_until(lock, std::min(not_before, deadline), [this] { return all_ended(); });
  waiting_for_news_ = true;
  news_.wait_until(lock, deadline, [this] { return has_news_; });
  waiting_for_news_ = false;
  has_news_ = false;
  std::vector<ChoiceNews> taken;
  for (Choice& choice : choices_) {
    if (choice.news.tokens.empty() && !(choice.ended && !choice.end_taken)) continue;
    taken.push_back(std::move(choice.news));
    choice.news = ChoiceNews{};
    choice.news.index = taken.back().index;
    choice.end_taken = choice.ended;
  }
  return taken;
}

bool CompletionJob::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Choice& choice : choices_)
    if (!choice.end_taken) return false;
  return true;
}

int CompletionJob::completion_tokens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int total = 0;
  for (const Choice& choice : choices_) total += choice.tokens;
  return total;
}

}  // namespace gen_cuda
