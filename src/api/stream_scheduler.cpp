#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include "core/nvtx_range.hpp"
#include "core/stop_text.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/limits.hpp"
#include "genrnn/serving.hpp"

namespace genrnn {

// A stream between submit() and its end.
struct StreamScheduler::Pending {
  ScheduledStream stream;
  int choice;
  std::shared_ptr<const StreamObserver> observer;
  StreamTicket ticket;
};

// A stream in a slot.
struct StreamScheduler::Running {
  Pending pending;
  int slot;
  int previous;           // the last token fed, for Tokenizer::piece
  uint64_t position = 0;  // tokens drawn so far
  std::string text;       // generated so far (up to a stop string)
  std::size_t released = 0;
};

namespace {

// The length of the longest end of `text` that begins some stop string, for holding back.
std::size_t stop_prefix_at_end(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t longest = 0;
  for (const std::string& stop : stops)
    for (std::size_t n = std::min(stop.size() - 1, text.size()); n > longest; --n)
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) {
        longest = n;
        break;
      }
  return longest;
}

// Where the first stop string starts in `text`, looking only where the last `added` bytes could
// have completed one; npos for none.
std::size_t find_stop(const std::string& text, std::size_t added, const std::vector<std::string>& stops) {
  std::size_t first = std::string::npos;
  for (const std::string& stop : stops) first = std::min(first, find_new_stop(text, added, stop));
  return first;
}

// The drawn token's log-probability and the `stream.logprobs` likeliest tokens' (with the drawn
// one after them where it is not among them, as OpenAI's logprobs), from a step's logits.
void add_logprobs(const float* logits, int vocab, const ScheduledStream& stream, int previous,
                  const Tokenizer& tokenizer, StreamToken& token) {
  const std::vector<double> drawn = sampling_distribution(logits, vocab, stream.sampling);
  const double normalizer = log_normalizer(logits, vocab);
  auto log_of = [](double p) { return p > 0 ? std::log(p) : -std::numeric_limits<double>::infinity(); };
  token.logprob = log_of(drawn[token.token]);
  std::vector<int> ids(vocab);
  std::iota(ids.begin(), ids.end(), 0);
  const int kept = std::min(stream.logprobs, vocab);
  std::partial_sort(ids.begin(), ids.begin() + kept, ids.end(),
                    [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  ids.resize(kept);
  if (std::find(ids.begin(), ids.end(), token.token) == ids.end()) ids.push_back(token.token);
  for (int id : ids)
    token.top.push_back({id, tokenizer.piece(previous, id), log_of(drawn[id]), double(logits[id]) - normalizer});
}

}  // namespace

struct StreamScheduler::Impl {
  std::unique_ptr<DecodingEngine> engine;
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Pending> queue;
  int active = 0;
  bool accepting = true;
  bool stopping = false;
  std::chrono::steady_clock::time_point cancel_at = std::chrono::steady_clock::time_point::max();
  bool broken = false;  // the engine failed mid-step
  std::string failure;
  std::thread thread;
};

StreamScheduler::StreamScheduler(Model model, const EngineOptions& engine, const SchedulerOptions& options)
    : model_(std::move(model)), options_(options), impl_(std::make_unique<Impl>()) {
  if (options.slots < 1 || options.slots > limits::max_streams)
    throw Error("slots must be in [1, " + std::to_string(limits::max_streams) + "], not " +
                std::to_string(options.slots));
  if (options.max_queued < 0) throw Error("the queue's length cannot be negative");
  impl_->engine =
      make_decoding_engine(choose_engine(engine, model_.config, EngineRole::decoding).engine, model_.config, engine);
  impl_->engine->set_parameters(model_.parameters);
  impl_->engine->set_state({options.slots, {}, {}});
  impl_->thread = std::thread([this] { run(); });
}

StreamScheduler::~StreamScheduler() {
  shutdown(std::chrono::milliseconds(0));
  impl_->thread.join();
}

const std::string& StreamScheduler::engine_name() const { return impl_->engine->name(); }

StreamTicket StreamScheduler::submit(std::vector<ScheduledStream> streams, StreamObserver observer) {
  if (streams.empty()) throw Error("a request needs at least one stream");
  for (const ScheduledStream& stream : streams) {
    if (stream.prompt.empty()) throw Error("the prompt is empty: give at least one token to start from");
    for (int id : stream.prompt)
      if (id < 0 || id >= model_.config.vocab_size)
        throw Error("prompt token " + std::to_string(id) + " is not in the vocabulary");
    if (stream.max_tokens < 1) throw Error("max_tokens must be at least 1");
    for (const std::string& stop : stream.stops)
      if (stop.empty() || stop.size() > ScheduledStream::max_stop_bytes)
        throw Error("a stop string must have 1 to " + std::to_string(ScheduledStream::max_stop_bytes) + " bytes");
    stream.sampling.validate();
  }
  StreamTicket ticket;
  auto shared_observer = std::make_shared<const StreamObserver>(std::move(observer));
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (!impl_->accepting)
    throw SchedulerBusy(impl_->broken ? "the engine failed: " + impl_->failure : "the server is shutting down", true);
  if (impl_->queue.size() + streams.size() >
      static_cast<std::size_t>(options_.max_queued) + options_.slots - impl_->active)
    throw SchedulerBusy("every slot is busy and the queue is full (" + std::to_string(impl_->queue.size()) +
                            " streams wait); try again later",
                        false);
  for (std::size_t k = 0; k < streams.size(); ++k)
    impl_->queue.push_back({std::move(streams[k]), static_cast<int>(k), shared_observer, ticket});
  impl_->wake.notify_one();
  return ticket;
}

StreamScheduler::Load StreamScheduler::load() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return {impl_->active, static_cast<int>(impl_->queue.size())};
}

std::string StreamScheduler::failure() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->failure;
}

bool StreamScheduler::broken() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->broken;
}

bool StreamScheduler::accepting() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->accepting;
}

void StreamScheduler::shutdown(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->accepting = false;
  impl_->stopping = true;
  impl_->cancel_at = std::min(impl_->cancel_at, std::chrono::steady_clock::now() + grace);
  impl_->wake.notify_one();
}

// The scheduler's thread: each step admits queued streams into free slots (prefilling them from
// a zero state), draws one token for every running stream from its slot's logits, ends the
// streams that are done, and feeds the others' tokens for the next step's logits.
void StreamScheduler::run() {
  Impl& s = *impl_;
  const int V = model_.config.vocab_size;
  std::vector<float> slot_logits(static_cast<std::size_t>(options_.slots) * V);
  std::vector<std::unique_ptr<Running>> slots(options_.slots);
  std::vector<int> free_slots(options_.slots);
  std::iota(free_slots.rbegin(), free_slots.rend(), 0);  // lowest first, from the back
  std::vector<float> logits;

  auto end_without_token = [](const Pending& pending, StreamEnd end) {
    (*pending.observer)(pending.choice, nullptr, end);
  };
  auto release = [&](std::unique_ptr<Running>& running) {
    free_slots.push_back(running->slot);
    running.reset();
  };
  auto fail = [&](std::vector<int> failing, const std::exception& error, bool for_good) {
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.failure = error.what();
      if (for_good) {
        s.accepting = false;
        s.stopping = true;
        s.broken = true;
      }
    }
    for (int slot : failing)
      if (slots[slot]) {
        end_without_token(slots[slot]->pending, StreamEnd::failed);
        release(slots[slot]);
      }
  };
  // Prefills `rows` (slots) with `inputs` and keeps each one's logits for its next draw.
  auto prefill = [&](const std::vector<int>& rows, const std::vector<std::vector<int>>& inputs, bool fresh) {
    if (rows.size() == slots.size() && std::is_sorted(rows.begin(), rows.end())) {
      s.engine->prefill_slots(rows, inputs, fresh, slot_logits);  // every slot, in order: no copy
      return;
    }
    s.engine->prefill_slots(rows, inputs, fresh, logits);
    for (std::size_t k = 0; k < rows.size(); ++k)
      std::copy_n(logits.begin() + static_cast<std::ptrdiff_t>(k) * V, V,
                  slot_logits.begin() + static_cast<std::ptrdiff_t>(rows[k]) * V);
  };

  for (;;) {
    std::vector<Pending> dropped;
    std::vector<int> joiners;  // slots
    bool cancel_all = false;
    StreamEnd dropped_end = StreamEnd::cancelled;
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.wake.wait(lock, [&] { return s.stopping || !s.queue.empty() || s.active > 0; });
      cancel_all = s.stopping && std::chrono::steady_clock::now() >= s.cancel_at;
      if (s.broken) dropped_end = StreamEnd::failed;
      // Queued streams end here when cancelled, or when the server is shutting down.
      for (auto it = s.queue.begin(); it != s.queue.end();)
        if (it->ticket.cancelled() || s.stopping) {
          dropped.push_back(std::move(*it));
          it = s.queue.erase(it);
        } else {
          ++it;
        }
      while (!s.queue.empty() && !free_slots.empty()) {
        const int slot = free_slots.back();
        free_slots.pop_back();
        Pending pending = std::move(s.queue.front());
        s.queue.pop_front();
        const int previous = pending.stream.prompt.back();
        slots[slot] = std::make_unique<Running>(Running{std::move(pending), slot, previous, 0, {}, 0});
        joiners.push_back(slot);
      }
      s.active = options_.slots - static_cast<int>(free_slots.size());
      if (s.stopping && s.active == 0 && dropped.empty()) return;
    }
    try {
      for (const Pending& pending : dropped) end_without_token(pending, dropped_end);
      // Cancelled streams leave before the step; a joiner among them is prefilled no more.
      for (auto& running : slots)
        if (running && (cancel_all || running->pending.ticket.cancelled())) {
          end_without_token(running->pending, StreamEnd::cancelled);
          release(running);
        }
      joiners.erase(std::remove_if(joiners.begin(), joiners.end(), [&](int slot) { return !slots[slot]; }),
                    joiners.end());
      NvtxRange range("serve step");
      if (!joiners.empty()) {
        std::vector<std::vector<int>> prompts;
        for (int slot : joiners) prompts.push_back(slots[slot]->pending.stream.prompt);
        try {
          prefill(joiners, prompts, /*fresh=*/true);
        } catch (const std::exception& error) {  // the slots are as they were: only the joiners fail
          fail(joiners, error, false);
        }
      }
      std::vector<int> rows;
      std::vector<std::vector<int>> inputs;
      for (auto& running : slots) {
        if (!running) continue;
        const int token = draw(*running, slot_logits.data() + static_cast<std::size_t>(running->slot) * V);
        if (token < 0) {
          release(running);
          continue;
        }
        rows.push_back(running->slot);
        inputs.push_back({token});
      }
      if (rows.empty()) continue;
      // With most slots running, every slot steps (the free ones on token 0, their state
      // unused: a stream that joins starts from zeros): one batch where the state is, rather than
      // the running rows' state through the host and back.
      if (2 * rows.size() >= slots.size() && rows.size() < slots.size()) {
        std::vector<std::vector<int>> all_inputs(slots.size(), std::vector<int>{0});
        for (std::size_t k = 0; k < rows.size(); ++k) all_inputs[rows[k]] = inputs[k];
        inputs = std::move(all_inputs);
        rows.resize(slots.size());
        std::iota(rows.begin(), rows.end(), 0);
      }
      prefill(rows, inputs, /*fresh=*/false);
    } catch (const std::exception& error) {
      // Past the joiners' prefill the slots' state is no longer known: every stream fails, and
      // so does every later one.
      std::vector<int> all(options_.slots);
      std::iota(all.begin(), all.end(), 0);
      fail(all, error, true);
    }
  }
}

// One token for a running stream from its logits, handed to its observer; the token to feed
// next, or -1 when the stream has ended.
int StreamScheduler::draw(Running& running, const float* logits) {
  const ScheduledStream& stream = running.pending.stream;
  const int V = model_.config.vocab_size;
  StreamToken token;
  token.token = sample_token(logits, V, stream.sampling, stream.stream, running.position);
  if (stream.logprobs >= 0) add_logprobs(logits, V, stream, running.previous, model_.tokenizer, token);
  token.piece = model_.tokenizer.piece(running.previous, token.token);
  running.previous = token.token;
  ++running.position;
  running.text += token.piece;
  StreamEnd end = running.position >= static_cast<uint64_t>(stream.max_tokens) ? StreamEnd::length : StreamEnd::running;
  const std::size_t stop_at = find_stop(running.text, token.piece.size(), stream.stops);
  if (stop_at != std::string::npos) {
    running.text.resize(stop_at);
    end = StreamEnd::stop;
  }
  const std::size_t held = end == StreamEnd::running ? stop_prefix_at_end(running.text, stream.stops) : 0;
  const std::size_t until = std::max(running.released, running.text.size() - held);
  token.text = running.text.substr(running.released, until - running.released);
  running.released = until;
  const StreamObserver& observer = *running.pending.observer;
  if (!observer(running.pending.choice, &token, end) && end == StreamEnd::running) {
    observer(running.pending.choice, nullptr, StreamEnd::cancelled);
    return -1;
  }
  return end == StreamEnd::running ? token.token : -1;
}

}  // namespace genrnn
