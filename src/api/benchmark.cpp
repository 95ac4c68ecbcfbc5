#include "genrnn/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>

#include "api/beam_search.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"
#include "genrnn/limits.hpp"
#include "genrnn/model.hpp"
#include "genrnn/sampling.hpp"
#include "genrnn/threads.hpp"
#include "parallel/communicator.hpp"

namespace genrnn {

std::string to_string(BenchTest test) {
  switch (test) {
    case BenchTest::train: return "train";
    case BenchTest::prefill: return "prefill";
    case BenchTest::decode: return "decode";
    case BenchTest::sample: return "sample";
    case BenchTest::beam: return "beam";
  }
  throw Error("unknown benchmark test");
}

BenchTest parse_bench_test(const std::string& name) {
  for (BenchTest test : {BenchTest::train, BenchTest::prefill, BenchTest::decode, BenchTest::sample, BenchTest::beam})
    if (to_string(test) == name) return test;
  throw Error("unknown benchmark test '" + name + "' (expected train, prefill, decode, sample or beam)");
}

namespace {

// A model of the benchmark's shape with random weights and a synthetic word vocabulary
// ("t0", "t1", ...), so that no data is needed.
Model random_model(ModelConfig config, uint64_t seed) {
  config.tokenizer = TokenizerKind::word;
  std::vector<std::string> tokens(static_cast<std::size_t>(config.vocab_size));
  for (std::size_t id = 0; id < tokens.size(); ++id) tokens[id] = "t" + std::to_string(id);
  return Model::initialize(config, Tokenizer::from_vocab(TokenizerKind::word, std::move(tokens)), seed);
}

std::vector<int> random_ids(std::size_t n, int vocab, std::mt19937_64& engine) {
  std::uniform_int_distribution<int> pick(0, vocab - 1);
  std::vector<int> ids(n);
  for (int& id : ids) id = pick(engine);
  return ids;
}

// Runs `work` timing.warmup times untimed, then timing.repetitions times timed by `seconds`;
// fills the result's tokens-per-second statistics.
void measure(const BenchTiming& timing, int64_t tokens, BenchResult& result, const std::function<void()>& work,
             const std::function<double(const std::function<void()>&)>& seconds = wall_clock_seconds) {
  for (int i = 0; i < timing.warmup; ++i) work();
  std::vector<double> rates;
  for (int i = 0; i < timing.repetitions; ++i)
    rates.push_back(static_cast<double>(tokens) / std::max(seconds(work), 1e-12));
  double mean = 0;
  for (double r : rates) mean += r / static_cast<double>(rates.size());
  double variance = 0;
  for (double r : rates) variance += (r - mean) * (r - mean);
  result.tokens = tokens;
  result.mean_tokens_per_second = mean;
  result.stddev_tokens_per_second = rates.size() > 1 ? std::sqrt(variance / static_cast<double>(rates.size() - 1)) : 0;
}

// The q-quantile of `samples` (nearest rank), 0 when there are none.
double quantile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::max<std::size_t>(rank, 1) - 1];
}

// The decode test: per repetition, a one-token prompt per stream through prefill (untimed),
// then n_decode tokens per stream, each chunk's arrival timed for the per-token latency.
void measure_decode(const BenchCase& bench, const BenchTiming& timing, const Model& model, const EngineOptions& options,
                    BenchResult& result) {
  using Clock = std::chrono::steady_clock;
  auto engine = make_decoding_engine(result.engine, model.config, options);
  engine->set_parameters(model.parameters);
  const std::vector<int> prompts(static_cast<std::size_t>(bench.batch), 0);
  std::vector<DrawKey> keys(static_cast<std::size_t>(bench.batch));
  for (std::size_t s = 0; s < keys.size(); ++s) keys[s] = {timing.seed, s};
  std::vector<float> logits;
  std::vector<double> token_seconds;  // of the timed repetitions
  double decode_seconds = 0;
  bool timed = false;  // measure() calls `seconds` for the timed repetitions only
  const auto decode = [&] {
    engine->set_state({bench.batch, {}, {}});
    engine->prefill(prompts, logits);
    const Clock::time_point start = Clock::now();
    Clock::time_point last = start;
    const DecodeStats stats =
        engine->decode(logits, bench.n_decode, SamplingOptions{}, keys, [&](int, int positions, const int*) {
          const Clock::time_point now = Clock::now();
          const double each = std::chrono::duration<double>(now - last).count() / positions;
          if (timed) token_seconds.insert(token_seconds.end(), static_cast<std::size_t>(positions), each);
          last = now;
          return true;
        });
    decode_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.decoder = stats.decoder;
    result.decoder_note = stats.note;
  };
  measure(timing, int64_t{bench.batch} * bench.n_decode, result, decode, [&](const std::function<void()>& work) {
    timed = true;
    work();
    return decode_seconds;
  });
  result.token_latency_us_p50 = 1e6 * quantile(token_seconds, 0.5);
  result.token_latency_us_p99 = 1e6 * quantile(token_seconds, 0.99);
}

// The beam test: per repetition, `batch` searches of beam_width beams from a one-token prompt,
// n_decode tokens each and no stop text, as one batch on the engine's device.
void measure_beam(const BenchCase& bench, const BenchTiming& timing, const Model& model, const EngineOptions& options,
                  BenchResult& result) {
  auto engine = make_decoding_engine(result.engine, model.config, options);
  engine->set_parameters(model.parameters);
  std::vector<BeamRequest> requests(static_cast<std::size_t>(bench.batch));
  for (BeamRequest& request : requests) {
    request.prompt = {0};
    request.width = bench.beam_width;
    request.length = bench.n_decode;
  }
  measure(
      timing, int64_t{bench.batch} * bench.n_decode, result, [&] { beam_search(*engine, model.tokenizer, requests); },
      [&](const std::function<void()>& work) { return engine->time_seconds(work); });
  result.decoder = engine->searches_beams() ? "device" : "host";
}

}  // namespace

EngineRole engine_role(BenchTest test) {
  if (test == BenchTest::train) return EngineRole::training;
  return test == BenchTest::sample ? EngineRole::sampling : EngineRole::decoding;
}

EngineOptions engine_options(const BenchCase& bench) {
  EngineOptions options;
  options.device = bench.device;
  options.engine = bench.engine;
  options.tf32 = bench.tf32;
  options.cuda_graphs = bench.cuda_graphs;
  options.decoder = bench.decoder;
  options.gpu = bench.gpu;
  return options;
}

BenchResult run_benchmark(const BenchCase& bench, const BenchTiming& timing) {
  if (timing.repetitions < 1 || timing.warmup < 0) throw Error("benchmark repetitions must be >= 1, warm-up >= 0");
  if (bench.batch < 1 || bench.seq_len < 1 || bench.n_decode < 1)
    throw Error("benchmark batch, seq-len and n-decode must be at least 1");
  if (bench.test == BenchTest::beam &&
      (bench.beam_width < 1 || int64_t{bench.batch} * bench.beam_width > limits::max_streams))
    throw Error("a beam benchmark's batch x beam width must be in [1, " + std::to_string(limits::max_streams) +
                "], not " + std::to_string(bench.batch) + " x " + std::to_string(bench.beam_width));
  BenchResult result;
  result.bench = bench;
  const EngineOptions options = with_process_gpu(engine_options(bench));
  const EngineChoice choice = choose_engine(options, bench.model, engine_role(bench.test));
  result.engine = choice.engine;
  result.device = choice.on_gpu ? "cuda" : "cpu";
  if (choice.on_gpu) result.gpu = list_gpus().at(choice.gpu).name;
  if (result.device == "cpu") {
    if (bench.threads > 0) set_cpu_threads(bench.threads);
    result.threads = cpu_threads();
  }
  std::mt19937_64 random(timing.seed);
  const int vocab = bench.model.vocab_size;

  if (bench.test == BenchTest::sample) {
    auto sampler = make_sampler(result.engine, options);
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> logits(static_cast<std::size_t>(bench.batch) * vocab);
    for (float& z : logits) z = normal(random);
    sampler->load_logits(logits, bench.batch);
    std::vector<DrawKey> keys(static_cast<std::size_t>(bench.batch));
    for (std::size_t s = 0; s < keys.size(); ++s) keys[s] = {timing.seed, s};
    uint64_t position = 0;
    measure(
        timing, bench.batch, result, [&] { sampler->draw(SamplingOptions{}, keys, position++); },
        [&](const std::function<void()>& work) { return sampler->time_seconds(work); });
    return result;
  }

  const Model model = random_model(bench.model, timing.seed);
  const RecurrentState zero{bench.batch, {}, {}};
  if (bench.test == BenchTest::decode) {
    measure_decode(bench, timing, model, options, result);
    return result;
  }
  if (bench.test == BenchTest::beam) {
    measure_beam(bench, timing, model, options, result);
    return result;
  }

  const auto tokens = static_cast<std::size_t>(bench.batch) * bench.seq_len;
  // Timed on the engine's device: its queued work included.
  const auto on_device = [](ModelEngine& engine) {
    return [&engine](const std::function<void()>& work) { return engine.time_seconds(work); };
  };
  if (bench.test == BenchTest::train) {
    // Under mpirun, each process steps its share of the batch and the gradients are averaged
    // every step, as Trainer does: the tokens counted are the whole batch's.
    Communicator& world = run_communicator();
    result.processes = world.size();
    if (bench.batch % world.size() != 0)
      throw Error("benchmark batch " + std::to_string(bench.batch) + " is not divisible by the " +
                  std::to_string(world.size()) + " processes of the run");
    // Full steps of the streams of `slice`, their gradients averaged by `reducer` (if any).
    const auto time_steps = [&](const StreamSlice& slice, GradientReducer* reducer, BenchResult& into) {
      TrainStepOptions step;
      step.read_loss = false;
      step.streams = slice;
      auto engine = make_training_engine(result.engine, model.config, options);
      engine->set_parameters(model.parameters);
      engine->set_state({slice.count, {}, {}});
      const auto mine = static_cast<std::size_t>(slice.count) * bench.seq_len;
      const TokenWindow window{slice.count, bench.seq_len, random_ids(mine, vocab, random),
                               random_ids(mine, vocab, random)};
      measure(
          timing, static_cast<int64_t>(tokens), into, [&] { engine->train_step(window, step, reducer); },
          on_device(*engine));
    };
    const StreamSlice whole{0, bench.batch, bench.batch};
    if (world.size() == 1) {
      time_steps(whole, nullptr, result);
      return result;
    }
    // The scaling's baseline: process 0 steps the whole batch alone (on its own share of the
    // machine, as each process has) while the others wait without spinning.
    if (world.rank() == 0) {
      BenchResult alone = result;
      time_steps(whole, nullptr, alone);
      result.one_process_tokens_per_second = alone.mean_tokens_per_second;
    }
    world.wait_for_all();
    time_steps(StreamSlice::of_rank(bench.batch, world.rank(), world.size()), &world, result);
    world.release_gpu();
    return result;
  }
  auto engine = make_decoding_engine(result.engine, model.config, options);
  engine->set_parameters(model.parameters);
  const std::vector<int> prompts = random_ids(tokens, vocab, random);
  std::vector<float> logits;
  measure(
      timing, static_cast<int64_t>(tokens), result,
      [&] {
        engine->set_state(zero);
        engine->prefill(prompts, logits);
      },
      on_device(*engine));
  return result;
}

}  // namespace genrnn
