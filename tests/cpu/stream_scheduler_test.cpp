// StreamScheduler (continuous batching) against Generator: the same streams give the same text
// whenever they join and whatever runs beside them; stops, cancelling, the queue's bound,
// shutdown and log-probabilities.
#include <genrnn/generator.hpp>
#include <genrnn/serving.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>

#include "tests/support/numeric.hpp"

namespace genrnn {
namespace {

Model small_model(CellType cell, uint64_t seed) {
  auto tokenizer = Tokenizer::build(TokenizerKind::character, "abcdefghijklmnopqrstuvwxyz .,\n", 0);
  const ModelConfig config{cell, 2, 32, 8, tokenizer.size(), TokenizerKind::character};
  return Model::initialize(config, std::move(tokenizer), seed);
}

// What a request's observer heard, per choice.
struct Heard {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<int, std::string> text;
  std::map<int, std::vector<StreamToken>> tokens;
  std::map<int, StreamEnd> ended;

  StreamObserver observer(std::function<bool(int, const StreamToken&)> extra = {}) {
    return [this, extra](int choice, const StreamToken* token, StreamEnd end) {
      std::lock_guard<std::mutex> lock(mutex);
      if (token) {
        text[choice] += token->text;
        tokens[choice].push_back(*token);
      }
      if (end != StreamEnd::running) ended[choice] = end;
      changed.notify_all();
      return token && extra ? extra(choice, *token) : true;
    };
  }
  // Waits (at most 60 s) for `choices` streams to end.
  void wait_for(std::size_t choices) {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(60), [&] { return ended.size() >= choices; }))
        << ended.size() << " of " << choices << " streams ended";
  }
};

std::vector<ScheduledStream> choices(const Model& model, const std::string& prompt, const SamplingOptions& sampling,
                                     int count, int max_tokens) {
  std::vector<ScheduledStream> streams(count);
  for (int k = 0; k < count; ++k) {
    streams[k].prompt = model.tokenizer.encode(prompt, UnknownPolicy::error);
    streams[k].sampling = sampling;
    streams[k].stream = static_cast<uint64_t>(k);
    streams[k].max_tokens = max_tokens;
  }
  return streams;
}

std::vector<std::string> generated(const Model& model, const std::string& prompt, const SamplingOptions& sampling,
                                   int count, int length, const std::string& stop = "") {
  Generator generator(model, Device::cpu);
  GenerateOptions options;
  options.sampling = sampling;
  options.num_samples = count;
  options.length = length;
  options.stop = stop;
  return generator.generate(prompt, options);
}

TEST(StreamScheduler, StreamsJoiningARunningBatchDrawWhatGeneratorDraws) {
  const uint64_t seed = testing::random_engine()();
  const Model model = small_model(CellType::lstm, seed);
  SamplingOptions first{0.9f, 0, 1.0f, seed % 1000}, second{1.3f, 5, 0.9f, seed % 1000 + 1};
  StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {4, 16});
  Heard a, b, c;
  // b joins while a runs, from inside a's observer (at its 7th token); c waits for a free slot.
  scheduler.submit(choices(model, "the cat ", first, 3, 40), a.observer([&](int choice, const StreamToken&) {
    if (choice == 0 && a.tokens[0].size() == 7)
      scheduler.submit(choices(model, "a dog, ", second, 2, 25), b.observer());
    return true;
  }));
  scheduler.submit(choices(model, "x", second, 2, 30), c.observer());
  a.wait_for(3);
  b.wait_for(2);
  c.wait_for(2);
  const auto a_alone = generated(model, "the cat ", first, 3, 40), b_alone = generated(model, "a dog, ", second, 2, 25),
             c_alone = generated(model, "x", second, 2, 30);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(a.text[k], a_alone[k]) << "choice " << k;
    EXPECT_EQ(a.ended[k], StreamEnd::length);
    EXPECT_EQ(a.tokens[k].size(), 40u);
  }
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(b.text[k], b_alone[k]) << "choice " << k;
    EXPECT_EQ(c.text[k], c_alone[k]) << "choice " << k;
  }
  EXPECT_EQ(scheduler.load().active, 0);
}

TEST(StreamScheduler, AStopStringEndsTheStreamAndNeverReachesTheText) {
  const Model model = small_model(CellType::gru, 5);
  const SamplingOptions sampling{1.0f, 0, 1.0f, 3};
  int stopped = 0;
  // Stop strings of one and two characters, seen in the unstopped texts.
  const auto free_texts = generated(model, "on ", sampling, 8, 200);
  for (const std::string stop : {"e", "e ", "th"}) {
    StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {3, 16});
    Heard heard;
    auto streams = choices(model, "on ", sampling, 8, 200);
    for (auto& stream : streams) stream.stops = {stop, "qqq"};
    scheduler.submit(streams, heard.observer());
    heard.wait_for(8);
    for (int k = 0; k < 8; ++k) {
      const std::size_t at = free_texts[k].find(stop);
      const std::string expected = at == std::string::npos ? free_texts[k] : free_texts[k].substr(0, at);
      EXPECT_EQ(heard.text[k], expected) << "stop '" << stop << "', choice " << k;
      EXPECT_EQ(heard.ended[k], at == std::string::npos ? StreamEnd::length : StreamEnd::stop);
      stopped += at != std::string::npos;
    }
  }
  EXPECT_GE(stopped, 12);  // of 24: the stops were met, often (fixed model and seed)
}

TEST(StreamScheduler, ACancelledStreamFreesItsSlotForTheNext) {
  const Model model = small_model(CellType::lstm, 8);
  StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {1, 4});
  Heard endless, next;
  const StreamTicket ticket = scheduler.submit(choices(model, "ab", {}, 1, 1'000'000), endless.observer());
  scheduler.submit(choices(model, "cd", {}, 1, 5), next.observer());
  {
    std::unique_lock<std::mutex> lock(endless.mutex);
    ASSERT_TRUE(
        endless.changed.wait_for(lock, std::chrono::seconds(60), [&] { return endless.tokens[0].size() >= 3; }));
  }
  EXPECT_EQ(scheduler.load().queued, 1);
  ticket.cancel();
  next.wait_for(1);
  EXPECT_EQ(next.ended[0], StreamEnd::length);
  EXPECT_EQ(endless.ended[0], StreamEnd::cancelled);
  // An observer that returns false cancels its stream too.
  Heard refusing;
  scheduler.submit(choices(model, "ef", {}, 1, 1'000'000),
                   refusing.observer([](int, const StreamToken&) { return false; }));
  refusing.wait_for(1);
  EXPECT_EQ(refusing.tokens[0].size(), 1u);
  EXPECT_EQ(refusing.ended[0], StreamEnd::cancelled);
}

TEST(StreamScheduler, StreamsCancelledAsTheyJoinDisturbNoOther) {
  const Model model = small_model(CellType::lstm, 6);
  const SamplingOptions sampling{1.0f, 0, 1.0f, 17};
  StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {3, 400});
  Heard kept;
  scheduler.submit(choices(model, "the ", sampling, 1, 300), kept.observer());
  std::vector<std::unique_ptr<Heard>> cancelled;
  for (int k = 0; k < 200; ++k) {
    cancelled.push_back(std::make_unique<Heard>());
    // Endless: each ends cancelled, however late the cancel comes.
    scheduler.submit(choices(model, "ab", sampling, 2, 1 << 30), cancelled.back()->observer()).cancel();
  }
  kept.wait_for(1);
  for (auto& heard : cancelled) {
    heard->wait_for(2);
    for (int k = 0; k < 2; ++k) EXPECT_EQ(heard->ended[k], StreamEnd::cancelled);
  }
  EXPECT_EQ(kept.text[0], generated(model, "the ", sampling, 1, 300)[0]);
}

TEST(StreamScheduler, AFullQueueAndShutdownRefuseNewRequests) {
  const Model model = small_model(CellType::rnn, 2);
  StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {2, 3});
  Heard long_ones;
  scheduler.submit(choices(model, "a", {}, 5, 1'000'000), long_ones.observer());  // 2 slots + 3 queued
  Heard refused;
  try {
    scheduler.submit(choices(model, "b", {}, 1, 5), refused.observer());
    FAIL() << "the queue took a sixth stream";
  } catch (const SchedulerBusy& busy) {
    EXPECT_FALSE(busy.shutting_down);
    EXPECT_NE(std::string(busy.what()).find("queue is full"), std::string::npos) << busy.what();
  }
  scheduler.shutdown(std::chrono::milliseconds(50));
  long_ones.wait_for(5);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(long_ones.ended[k], StreamEnd::cancelled);
  EXPECT_THROW(scheduler.submit(choices(model, "b", {}, 1, 5), refused.observer()), SchedulerBusy);
}

TEST(StreamScheduler, RefusesStreamsThatAreNotValid) {
  const Model model = small_model(CellType::lstm, 2);
  StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {2, 3});
  Heard heard;
  auto streams = choices(model, "a", {}, 1, 5);
  streams[0].max_tokens = 0;
  EXPECT_THROW(scheduler.submit(streams, heard.observer()), Error);
  streams = choices(model, "a", {}, 1, 5);
  streams[0].prompt = {model.config.vocab_size};
  EXPECT_THROW(scheduler.submit(streams, heard.observer()), Error);
  streams = choices(model, "a", {}, 1, 5);
  streams[0].stops = {""};
  EXPECT_THROW(scheduler.submit(streams, heard.observer()), Error);
  streams = choices(model, "a", {}, 1, 5);
  streams[0].sampling.top_p = 0;
  EXPECT_THROW(scheduler.submit(streams, heard.observer()), Error);
}

TEST(StreamScheduler, LogprobsAreThoseOfTheDistributionDrawnFromAndTheModels) {
  const Model model = small_model(CellType::lstm, 4);
  StreamScheduler scheduler(model, EngineOptions{Device::cpu}, {2, 3});
  Heard plain, filtered;
  auto streams = choices(model, "the ", {1.0f, 0, 1.0f, 9}, 1, 20);
  streams[0].logprobs = model.config.vocab_size;  // every token
  scheduler.submit(streams, plain.observer());
  streams = choices(model, "the ", {0.5f, 3, 1.0f, 9}, 1, 20);
  streams[0].logprobs = 5;
  scheduler.submit(streams, filtered.observer());
  plain.wait_for(1);
  filtered.wait_for(1);
  for (const StreamToken& token : plain.tokens[0]) {
    double total = 0;
    for (const TokenAlternative& alternative : token.top) {
      total += std::exp(alternative.model_logprob);
      EXPECT_NEAR(alternative.logprob, alternative.model_logprob, 1e-9);  // T = 1, nothing excluded
      if (alternative.token == token.token) EXPECT_NEAR(token.logprob, alternative.logprob, 1e-12);
    }
    EXPECT_NEAR(total, 1.0, 1e-9);
    for (std::size_t k = 1; k < token.top.size(); ++k)
      EXPECT_LE(token.top[k].model_logprob, token.top[k - 1].model_logprob);
  }
  for (const StreamToken& token : filtered.tokens[0]) {
    ASSERT_EQ(token.top.size(), 5u);
    double kept = 0;
    for (int k = 0; k < 5; ++k) {
      if (k < 3) kept += std::exp(token.top[k].logprob);
      if (k >= 3) EXPECT_TRUE(std::isinf(token.top[k].logprob)) << "top-k 3 keeps 3";
    }
    EXPECT_NEAR(kept, 1.0, 1e-9);
    EXPECT_GT(token.logprob, -1e300);  // the drawn token is one of the kept
  }
}

}  // namespace
}  // namespace genrnn
