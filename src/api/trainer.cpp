#include "genrnn/trainer.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

#include "api/training_checkpoint.hpp"
#include "core/atomic_file.hpp"
#include "core/corpus_batches.hpp"
#include "core/nvtx_range.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parallel.hpp"
#include "genrnn/token_file.hpp"
#include "parallel/run_agreement.hpp"
#include "parallel/stream_states.hpp"

namespace genrnn {

Optimizer parse_optimizer(const std::string& name) {
  if (name == "adam") return Optimizer::adam;
  if (name == "sgd") return Optimizer::sgd;
  throw Error("unknown optimizer '" + name + "' (expected adam or sgd)");
}

std::string to_string(Optimizer optimizer) { return optimizer == Optimizer::sgd ? "sgd" : "adam"; }

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

}  // namespace

void StepOptions::validate() const {
  require(learning_rate > 0, "the learning rate must be > 0");
  require(clip >= 0, "clip must be >= 0 (0 = off)");
  require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
}

void TrainOptions::validate() const {
  step.validate();
  require(seq_len >= 1, "seq-len must be at least 1");
  require(batch >= 1, "batch must be at least 1");
  require(steps >= 0, "steps must be >= 0");
  require(epochs >= 1, "epochs must be at least 1");
  require(time_limit >= 0 && std::isfinite(time_limit), "time-limit must be a number of seconds >= 0 (0 = none)");
  require(val_frac >= 0 && val_frac <= 0.5f, "val-frac must be in [0, 0.5]");
  require(eval_every >= 0 && checkpoint_every >= 0, "eval-every and checkpoint-every must be >= 0");
  require(loss_every >= 1, "loss-every must be at least 1");
  require(!out_path.empty(), "an output checkpoint path is required");
}

std::string optimizer_state_path(const std::string& checkpoint_path) { return checkpoint_path + ".optim"; }

std::vector<int> encode_corpus(const Tokenizer& tokenizer, const std::string& text) {
  return tokenizer.encode(text, tokenizer.kind() == TokenizerKind::word ? UnknownPolicy::unk : UnknownPolicy::error);
}

namespace {

RecurrentState zero_state(int batch) { return {batch, {}, {}}; }

// The shortest text that reads back as `value`: "0.01", not 0.0099999997764825821.
template <class Real>
std::string text_of(Real value) {
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, value).ptr);
}

// What the processes of a run must agree on, by the names the user knows them by.
RunFacts run_facts(const Model& model, const Corpus& corpus, const TrainOptions& options, const std::string& engine) {
  const ModelConfig& c = model.config;
  std::string vocabulary;
  for (const std::string& token : model.tokenizer.tokens()) vocabulary += token + '\0';
  // The corpus by its length and its first and last ids: reading it all would cost every
  // process a pass over a corpus that may not fit in memory (and ids spread over all of it map
  // much of it: the kernel maps large blocks of the page cache around each read).
  std::vector<int> sample;
  const int64_t n = corpus.size(), ends = std::min<int64_t>(n, 4096);
  for (int64_t k = 0; k < ends; ++k) sample.push_back(corpus[k]);
  for (int64_t k = n - ends; k < n; ++k) sample.push_back(corpus[k]);
  const StepOptions& step = options.step;
  return {
      {"the model", to_string(c.cell) + " " + std::to_string(c.num_layers) + "x" + std::to_string(c.hidden_size) +
                        " embed " + std::to_string(c.embedding_dim) + ", " + to_string(c.tokenizer) +
                        " vocabulary of " + std::to_string(c.vocab_size) + " (digest " +
                        digest(vocabulary.data(), vocabulary.size()) + ")"},
      {"the corpus", std::to_string(n) + " tokens (digest " + digest(sample.data(), sample.size() * sizeof(int)) + ")"},
      {"--batch", std::to_string(options.batch)},
      {"--seq-len", std::to_string(options.seq_len)},
      {"--steps", std::to_string(options.steps)},
      {"--epochs", std::to_string(options.epochs)},
      {"--time-limit", text_of(options.time_limit)},
      {"--val-frac", text_of(options.val_frac)},
      {"--seed", std::to_string(options.seed)},
      {"--optimizer", to_string(step.optimizer)},
      {"--lr", text_of(step.learning_rate)},
      {"--clip", text_of(step.clip)},
      {"--dropout", text_of(step.dropout)},
      {"--eval-every", std::to_string(options.eval_every)},
      {"--checkpoint-every", std::to_string(options.checkpoint_every)},
      {"how often the loss is read", std::to_string(options.loss_every)},
      {"--resume", options.resume ? "yes" : "no"},
      {"the engine", engine},
  };
}

}  // namespace

Trainer::Trainer(Model model, Corpus corpus, const TrainOptions& options)
    : model_(std::move(model)), options_(options), world_(&run_communicator()) {
  Communicator& world = *world_;
  EngineChoice choice;
  agree_on_errors(world, [&] {
    options_.validate();
    options_.engine = with_process_gpu(options_.engine);
    choice = choose_engine(options_.engine, model_.config, EngineRole::training);
  });
  if (world.size() > 1) check_same_run(world, run_facts(model_, corpus, options_, choice.engine));
  agree_on_errors(world, [&] {
    if (options_.batch % world.size() != 0)
      throw Error("--batch " + std::to_string(options_.batch) + " is not divisible by the " +
                  std::to_string(world.size()) + " processes of the run: each trains an equal share of the streams");
    require_vocabulary(corpus, model_.tokenizer, "the model's");
    // Before the first step, so that a long run cannot fail only when it first saves.
    if (world.rank() == 0)
      for (const std::string& path : {options_.out_path, optimizer_state_path(options_.out_path)}) {
        for (const std::string& removed : remove_stale_temporaries(path))
          notes_.push_back("removed " + removed + ", left by an earlier run that was killed while it saved");
        check_writable(path);
      }
    data_ = std::make_unique<CorpusBatches>(std::move(corpus), options_.batch, options_.seq_len, options_.val_frac,
                                            world.rank(), world.size());
    engine_ = make_training_engine(choice.engine, model_.config, options_.engine);
  });
  // NCCL's communicator, now: a GPU it cannot use stops every process before the first step.
  if (engine_->gpu() >= 0) agree_on_errors(world, [&] { world.start_gpu(engine_->gpu()); });
  world.broadcast(model_.parameters);  // one start, whatever each process's initialisation gave
  engine_->set_parameters(model_.parameters);
  engine_->set_state(zero_state(data_->train_streams().count));
  if (options_.resume) resume();
}

Trainer::~Trainer() { world_->release_gpu(); }

const std::string& Trainer::engine_name() const { return engine_->name(); }

const std::vector<std::string>& Trainer::notes() const { return notes_; }

int64_t Trainer::total_steps() const {
  return options_.steps > 0 ? options_.steps : options_.epochs * data_->windows_per_epoch();
}

int64_t Trainer::step() const { return step_; }

void Trainer::run(const ProgressCallback& on_progress, const std::atomic<bool>* stop) {
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  Communicator& world = *world_;
  TrainStepOptions step_options{options_.step, options_.seed, false, data_->train_streams()};
  TokenWindow window;
  TrainProgress progress;
  progress.total_steps = total_steps();
  const int64_t tokens_per_step = int64_t{options_.batch} * options_.seq_len;
  int64_t tokens = 0;
  // A stop is asked for on one process (Ctrl-C, a Python callback's exception) and ends the run
  // on all: alone at once, in a run at the exchange every step makes.
  const auto stop_asked = [&] { return stop && stop->load(); };
  bool stopped = stop_asked();
  if (world.size() > 1) {
    double asked = stopped ? 1 : 0;
    world.sum(&asked, 1);
    stopped = asked > 0;
  }
  try {
    while (step_ < progress.total_steps && !progress.out_of_time && !stopped) {
      const int64_t index = step_ % data_->windows_per_epoch();
      if (index == 0) engine_->set_state(zero_state(data_->train_streams().count));  // a new epoch starts afresh
      data_->train_window(index, window);
      const int64_t next = step_ + 1;
      const bool last = next == progress.total_steps;
      progress.evaluated =
          data_->has_validation() && options_.eval_every > 0 && (next % options_.eval_every == 0 || last);
      progress.checkpointed = last || (options_.checkpoint_every > 0 && next % options_.checkpoint_every == 0);
      step_options.read_loss = next % options_.loss_every == 0 || progress.evaluated || progress.checkpointed;
      auto loss = engine_->train_step(window, step_options, world.size() > 1 ? &world : nullptr);
      step_ = next;
      tokens += tokens_per_step;
      stopped = stop_asked();
      bool out_of_time = options_.time_limit > 0 && seconds() >= options_.time_limit;
      if (world.size() > 1) {  // one exchange a step: the loss (the mean of equal shares), the stop, the time
        double shared[3] = {loss.value_or(0), stopped ? 1.0 : 0.0, out_of_time ? 1.0 : 0.0};
        world.sum(shared, 3);
        if (loss) loss = shared[0] / world.size();
        stopped = shared[1] > 0;
        out_of_time = shared[2] > 0;
      }
      progress.loss_read = loss.has_value();
      if (loss) progress.train_loss = *loss;
      // Out of time: this step ends the run as the last one would (its loss was read only if due).
      progress.out_of_time = !last && out_of_time;
      if (progress.out_of_time) {
        progress.evaluated = data_->has_validation() && options_.eval_every > 0;
        progress.checkpointed = true;
      }
      if (progress.evaluated) progress.val_loss = validation_loss();
      if (progress.checkpointed) save_checkpoint();
      progress.step = step_;
      progress.tokens = step_ * tokens_per_step;
      progress.elapsed_seconds = seconds();
      progress.tokens_per_second = tokens / std::max(progress.elapsed_seconds, 1e-9);
      if (on_progress) on_progress(progress);
      if (world.size() == 1) stopped = stop_asked();  // in a run, at the next step's exchange
    }
    if (step_ < progress.total_steps && !progress.out_of_time) save_checkpoint();  // stopped: keep what was done
  } catch (const RunError&) {
    throw;  // every process's
  } catch (const std::exception& error) {
    if (world.size() > 1)
      abort_run("genrnn: process " + std::to_string(world.rank()) + " of the run failed: " + error.what(), 1);
    throw;
  }
}

double Trainer::validation_loss() {
  if (!data_->has_validation()) return -1;
  const RecurrentState training_state = engine_->state();
  double sums[2] = {0, 0};  // nats, tokens
  TokenWindow window;
  if (data_->validation_streams().count > 0) {
    engine_->set_state(zero_state(data_->validation_streams().count));
    for (int64_t index = 0; index < data_->validation_windows(); ++index) {
      data_->validation_window(index, window);
      sums[0] += engine_->eval_window(window);
      sums[1] += static_cast<double>(window.batch) * window.seq_len;
    }
    engine_->set_state(training_state);
  }
  world_->sum(sums, 2);
  return sums[0] / sums[1];
}

const Model& Trainer::model() {
  model_.parameters = engine_->parameters();
  return model_;
}

void Trainer::save_checkpoint() {
  NvtxRange range("checkpoint");
  const Model& current = model();
  const ModelConfig& config = current.config;
  const RecurrentState state = gather_slices(*world_, engine_->state(), config.num_layers, config.hidden_size);
  agree_on_errors(*world_, [&] {
    if (world_->rank() != 0) return;
    current.save(options_.out_path);
    write_training_checkpoint(
        optimizer_state_path(options_.out_path),
        {step_, options_.seed, options_.batch, options_.seq_len, engine_->optimizer_state(), state}, current);
  });
}

void Trainer::resume() {
  const ModelConfig& config = model_.config;
  TrainingCheckpoint checkpoint;
  agree_on_errors(*world_, [&] {
    checkpoint = read_training_checkpoint(optimizer_state_path(options_.out_path), model_);
    for (const auto& [key, saved, now] :
         {std::tuple{"batch", checkpoint.batch, options_.batch}, {"seq-len", checkpoint.seq_len, options_.seq_len}})
      if (saved != now)
        throw Error(std::string("--resume: the run was trained with --") + key + " " + std::to_string(saved) +
                    ", not " + std::to_string(now));
  });
  // Each process read its own copy: a stale one would part the processes silently.
  const OptimizerState& optimizer = checkpoint.optimizer;
  if (world_->size() > 1)
    check_same_run(
        *world_, {{"the step --resume continues from", std::to_string(checkpoint.step)},
                  {"the resumed run's seed", std::to_string(checkpoint.seed)},
                  {"the resumed optimizer state", digest(optimizer.m.data(), optimizer.m.size() * sizeof(float)) +
                                                      digest(optimizer.v.data(), optimizer.v.size() * sizeof(float))}});
  step_ = checkpoint.step;
  options_.seed = checkpoint.seed;
  engine_->set_optimizer_state(optimizer);
  engine_->set_state(slice_of(checkpoint.state, data_->train_streams(), config.num_layers, config.hidden_size));
}

}  // namespace genrnn
