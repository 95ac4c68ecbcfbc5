#include "genrnn/trainer.hpp"

#include <chrono>
#include <cstring>

#include "core/corpus.hpp"
#include "core/nvtx_range.hpp"
#include "core/safetensors.hpp"
#include "engine/engine_registry.hpp"
#include "genrnn/error.hpp"

namespace genrnn {

Optimizer parse_optimizer(const std::string& name) {
  if (name == "adam") return Optimizer::adam;
  if (name == "sgd") return Optimizer::sgd;
  throw Error("unknown optimizer '" + name + "' (expected adam or sgd)");
}

void TrainOptions::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error(what);
  };
  require(seq_len >= 1, "seq-len must be at least 1");
  require(batch >= 1, "batch must be at least 1");
  require(steps >= 0, "steps must be >= 0");
  require(epochs >= 1, "epochs must be at least 1");
  require(learning_rate > 0, "the learning rate must be > 0");
  require(clip >= 0, "clip must be >= 0 (0 = off)");
  require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
  require(val_frac >= 0 && val_frac <= 0.5f, "val-frac must be in [0, 0.5]");
  require(eval_every >= 0 && checkpoint_every >= 0, "eval-every and checkpoint-every must be >= 0");
  require(loss_every >= 1, "loss-every must be at least 1");
  require(!out_path.empty(), "an output checkpoint path is required");
}

std::string optimizer_state_path(const std::string& checkpoint_path) { return checkpoint_path + ".optim"; }

namespace {

// Ties an optimizer file to the weights it was saved with (FNV-1a over their bytes).
std::string parameters_fingerprint(const std::vector<float>& parameters) {
  uint64_t hash = 14695981039346656037ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(parameters.data());
  for (std::size_t i = 0; i < parameters.size() * sizeof(float); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return std::to_string(hash);
}

RecurrentState zero_state(int batch) { return {batch, {}, {}}; }

int64_t metadata_int(const SafetensorsFile& file, const std::string& path, const std::string& key) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) throw Error(path + ": lacks \"" + key + "\"");
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw Error(path + ": \"" + key + "\" is not an integer");
  }
}

}  // namespace

Trainer::Trainer(Model model, const std::vector<int>& corpus, const TrainOptions& options)
    : model_(std::move(model)), options_(options) {
  options_.validate();
  data_ = std::make_unique<CorpusBatches>(corpus, options_.batch, options_.seq_len, options_.val_frac);
  const EngineOptions engine{options_.device, options_.engine, options_.tf32};
  engine_ = make_training_engine(choose_engine(engine, model_.config).engine, model_.config, engine);
  engine_->set_parameters(model_.parameters);
  engine_->set_state(zero_state(options_.batch));
}

Trainer::~Trainer() = default;

const std::string& Trainer::engine_name() const { return engine_->name(); }

int64_t Trainer::total_steps() const {
  return options_.steps > 0 ? options_.steps : options_.epochs * data_->windows_per_epoch();
}

int64_t Trainer::step() const { return step_; }

void Trainer::run(const ProgressCallback& on_progress, const std::atomic<bool>* stop) {
  const auto start = std::chrono::steady_clock::now();
  TrainStepOptions step_options{options_.optimizer, options_.learning_rate, options_.clip,
                                options_.dropout, options_.seed, false};
  TokenWindow window;
  TrainProgress progress;
  progress.total_steps = total_steps();
  int64_t tokens = 0;
  while (step_ < progress.total_steps && !(stop && stop->load())) {
    const int64_t index = step_ % data_->windows_per_epoch();
    if (index == 0) engine_->set_state(zero_state(options_.batch));  // a new epoch starts afresh
    data_->train_window(index, window);
    const int64_t next = step_ + 1;
    const bool last = next == progress.total_steps;
    progress.evaluated = data_->has_validation() && options_.eval_every > 0 && (next % options_.eval_every == 0 || last);
    progress.checkpointed = last || (options_.checkpoint_every > 0 && next % options_.checkpoint_every == 0);
    step_options.read_loss = next % options_.loss_every == 0 || progress.evaluated || progress.checkpointed;
    const auto loss = engine_->train_step(window, step_options);
    progress.loss_read = loss.has_value();
    if (loss) progress.train_loss = *loss;
    step_ = next;
    tokens += int64_t{window.batch} * window.seq_len;
    if (progress.evaluated) progress.val_loss = validation_loss();
    if (progress.checkpointed) save_checkpoint();
    progress.step = step_;
    progress.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.tokens_per_second = tokens / std::max(progress.elapsed_seconds, 1e-9);
    if (on_progress) on_progress(progress);
  }
  if (step_ < progress.total_steps) save_checkpoint();  // stopped early: keep what was done
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
  const OptimizerState optimizer = engine_->optimizer_state();
  const RecurrentState state = engine_->state();
  SafetensorsFile file;
  file.metadata = {{"genrnn.step", std::to_string(step_)},
                   {"genrnn.optimizer_step", std::to_string(optimizer.step)},
                   {"genrnn.batch", std::to_string(options_.batch)},
                   {"genrnn.seq_len", std::to_string(options_.seq_len)},
                   {"genrnn.seed", std::to_string(options_.seed)},
                   {"genrnn.parameters", parameters_fingerprint(current.parameters)}};
  const auto n = static_cast<int64_t>(optimizer.m.size());
  if (n > 0) {
    file.tensors["adam.m"] = SafeTensor::from_f32({n}, optimizer.m.data());
    file.tensors["adam.v"] = SafeTensor::from_f32({n}, optimizer.v.data());
  }
  const std::vector<int64_t> state_shape{model_.config.num_layers, state.batch, model_.config.hidden_size};
  file.tensors["state.h"] = SafeTensor::from_f32(state_shape, state.h.data());
  if (!state.c.empty()) file.tensors["state.c"] = SafeTensor::from_f32(state_shape, state.c.data());
  write_safetensors(optimizer_state_path(options_.out_path), file);
}

void Trainer::resume() {
  const std::string path = optimizer_state_path(options_.out_path);
  const SafetensorsFile file = read_safetensors(path);
  if (file.metadata.count("genrnn.parameters") == 0 ||
      file.metadata.at("genrnn.parameters") != parameters_fingerprint(model_.parameters))
    throw Error(path + ": does not belong to the weights in " + options_.out_path +
                " (was one of them replaced or is a write incomplete?)");
  for (const auto& [key, value] : {std::pair{"batch", options_.batch}, {"seq_len", options_.seq_len}})
    if (metadata_int(file, path, std::string("genrnn.") + key) != value)
      throw Error(std::string("--resume: the run was trained with ") + key + " " +
                  std::to_string(metadata_int(file, path, std::string("genrnn.") + key)) + ", not " +
                  std::to_string(value));
  step_ = metadata_int(file, path, "genrnn.step");
  options_.seed = static_cast<uint64_t>(metadata_int(file, path, "genrnn.seed"));
  OptimizerState optimizer;
  optimizer.step = metadata_int(file, path, "genrnn.optimizer_step");
  if (file.tensors.count("adam.m")) {
    optimizer.m = file.tensors.at("adam.m").to_f32();
    optimizer.v = file.tensors.at("adam.v").to_f32();
  }
  engine_->set_optimizer_state(optimizer);
  RecurrentState state{options_.batch, file.tensors.at("state.h").to_f32(), {}};
  if (file.tensors.count("state.c")) state.c = file.tensors.at("state.c").to_f32();
  engine_->set_state(state);
}

}  // namespace genrnn
