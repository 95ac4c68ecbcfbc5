#include "genrnn/trainer.hpp"

#include <chrono>
#include <cmath>

#include "api/training_checkpoint.hpp"
#include "core/atomic_file.hpp"
#include "core/corpus.hpp"
#include "core/nvtx_range.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"

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

}  // namespace

Trainer::Trainer(Model model, const std::vector<int>& corpus, const TrainOptions& options)
    : model_(std::move(model)), options_(options) {
  options_.validate();
  // Before the first step, so that a long run cannot fail only when it first saves.
  for (const std::string& path : {options_.out_path, optimizer_state_path(options_.out_path)}) {
    for (const std::string& removed : remove_stale_temporaries(path))
      notes_.push_back("removed " + removed + ", left by an earlier run that was killed while it saved");
    check_writable(path);
  }
  data_ = std::make_unique<CorpusBatches>(corpus, options_.batch, options_.seq_len, options_.val_frac);
  engine_ = make_training_engine(choose_engine(options_.engine, model_.config, EngineRole::training).engine,
                                 model_.config, options_.engine);
  engine_->set_parameters(model_.parameters);
  engine_->set_state(zero_state(options_.batch));
}

Trainer::~Trainer() = default;

const std::string& Trainer::engine_name() const { return engine_->name(); }

const std::vector<std::string>& Trainer::notes() const { return notes_; }

int64_t Trainer::total_steps() const {
  return options_.steps > 0 ? options_.steps : options_.epochs * data_->windows_per_epoch();
}

int64_t Trainer::step() const { return step_; }

void Trainer::run(const ProgressCallback& on_progress, const std::atomic<bool>* stop) {
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  TrainStepOptions step_options{options_.step, options_.seed, false};
  TokenWindow window;
  TrainProgress progress;
  progress.total_steps = total_steps();
  int64_t tokens = 0;
  while (step_ < progress.total_steps && !progress.out_of_time && !(stop && stop->load())) {
    const int64_t index = step_ % data_->windows_per_epoch();
    if (index == 0) engine_->set_state(zero_state(options_.batch));  // a new epoch starts afresh
    data_->train_window(index, window);
    const int64_t next = step_ + 1;
    const bool last = next == progress.total_steps;
    progress.evaluated =
        data_->has_validation() && options_.eval_every > 0 && (next % options_.eval_every == 0 || last);
    progress.checkpointed = last || (options_.checkpoint_every > 0 && next % options_.checkpoint_every == 0);
    step_options.read_loss = next % options_.loss_every == 0 || progress.evaluated || progress.checkpointed;
    const auto loss = engine_->train_step(window, step_options);
    progress.loss_read = loss.has_value();
    if (loss) progress.train_loss = *loss;
    step_ = next;
    tokens += int64_t{window.batch} * window.seq_len;
    // Out of time: this step ends the run as the last one would (its loss was read only if due).
    progress.out_of_time = !last && options_.time_limit > 0 && seconds() >= options_.time_limit;
    if (progress.out_of_time) {
      progress.evaluated = data_->has_validation() && options_.eval_every > 0;
      progress.checkpointed = true;
    }
    if (progress.evaluated) progress.val_loss = validation_loss();
    if (progress.checkpointed) save_checkpoint();
    progress.step = step_;
    progress.tokens = step_ * window.batch * window.seq_len;
    progress.elapsed_seconds = seconds();
    progress.tokens_per_second = tokens / std::max(progress.elapsed_seconds, 1e-9);
    if (on_progress) on_progress(progress);
  }
  if (step_ < progress.total_steps && !progress.out_of_time) save_checkpoint();  // stopped: keep what was done
}

double Trainer::validation_loss() {
  if (!data_->has_validation()) return -1;
  const RecurrentState training_state = engine_->state();
  const auto& windows = data_->validation_windows();
  engine_->set_state(zero_state(windows.front().batch));
  double total = 0;
  int64_t count = 0;
  for (const auto& window : windows) {
    total += engine_->eval_window(window);
    count += int64_t{window.batch} * window.seq_len;
  }
  engine_->set_state(training_state);
  return total / static_cast<double>(count);
}

const Model& Trainer::model() {
  model_.parameters = engine_->parameters();
  return model_;
}

void Trainer::save_checkpoint() {
  NvtxRange range("checkpoint");
  const Model& current = model();
  current.save(options_.out_path);
  write_training_checkpoint(
      optimizer_state_path(options_.out_path),
      {step_, options_.seed, options_.batch, options_.seq_len, engine_->optimizer_state(), engine_->state()}, current);
}

void Trainer::resume() {
  const TrainingCheckpoint checkpoint = read_training_checkpoint(optimizer_state_path(options_.out_path), model_);
  for (const auto& [key, saved, now] :
       {std::tuple{"batch", checkpoint.batch, options_.batch}, {"seq-len", checkpoint.seq_len, options_.seq_len}})
    if (saved != now)
      throw Error(std::string("--resume: the run was trained with --") + key + " " + std::to_string(saved) + ", not " +
                  std::to_string(now));
  step_ = checkpoint.step;
  options_.seed = checkpoint.seed;
  engine_->set_optimizer_state(checkpoint.optimizer);
  engine_->set_state(checkpoint.state);
}

}  // namespace genrnn
