#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genrnn/corpus.hpp"
#include "genrnn/device.hpp"
#include "genrnn/model.hpp"

namespace genrnn {

class TrainingEngine;
class CorpusBatches;
class Communicator;
enum class Optimizer { adam, sgd };
Optimizer parse_optimizer(const std::string& name);  // "adam" | "sgd"
std::string to_string(Optimizer optimizer);

// What every training step does (the engines take it with what Trainer adds per step: the
// dropout seed, whether to read the loss back).
struct StepOptions {
  Optimizer optimizer = Optimizer::adam;
  float learning_rate = 2e-3f;
  float clip = 5.0f;  // global gradient norm; 0: off
  float dropout = 0.0f;
  // Throws Error naming the option that is out of range.
  void validate() const;
};

// The defaults here are everyone's: gen_cuda train's flags and genrnn.train's arguments read them.
struct TrainOptions {
  EngineOptions engine;  // device, engine, tf32, gpu (the decoder's options are not used)
  StepOptions step;
  int seq_len = 100;
  int batch = 32;     // streams per step, over all the processes of a data-parallel run
  int64_t steps = 0;  // 0: `epochs` passes over the training data
  int epochs = 1;
  // Seconds run() may take: it ends after the step during which they ran out, as it ends after
  // the last step (validation, checkpoint). 0: no limit; the step count still caps the run.
  double time_limit = 0;
  float val_frac = 0.05f;
  uint64_t seed = 1234;
  int64_t eval_every = 100;         // validation loss every N steps (and at the end)
  int64_t checkpoint_every = 1000;  // 0: only at the end
  int64_t loss_every = 1;           // read the training loss back every N steps (a GPU waits for it)
  std::string out_path;             // checkpoint; the optimizer state goes to out_path + ".optim"
  // Continue the run saved at out_path (whose weights the model given to Trainer holds): its
  // optimizer state, data position and carried state, from out_path + ".optim".
  bool resume = false;
  // Throws Error naming the option that is out of range.
  void validate() const;
};

struct TrainProgress {
  int64_t step = 0;  // steps done
  int64_t total_steps = 0;
  double train_loss = 0;   // mean cross-entropy (nats per token) of the last step that read it
  bool loss_read = false;  // train_loss was read at this step
  double val_loss = -1;    // last validation loss; < 0 while there is none
  bool evaluated = false;  // val_loss was computed at this step
  bool checkpointed = false;
  bool out_of_time = false;      // options.time_limit ran out during this step, which ends the run
  int64_t tokens = 0;            // tokens trained on since the run's first step: step x batch x seq-len
  double tokens_per_second = 0;  // in this call of run()
  double elapsed_seconds = 0;    // in this call of run()
};
using ProgressCallback = std::function<void(const TrainProgress&)>;

// Char-rnn style training: the corpus as `batch` parallel streams, windows of `seq_len` with
// the state carried across windows (truncated BPTT), a validation tail, checkpoints.
//
// Data parallel: in a process that mpirun started (see genrnn/parallel.hpp), every process of
// the run constructs a Trainer with the same model, corpus and options, and makes the same
// calls. Each trains its equal share of the batch's streams, on its own GPU (its local rank
// modulo the GPUs present, unless options.engine.gpu names one); gradients, losses and the
// stop are shared every step, so the run reaches the weights one process would (within float
// summation order). Process 0 alone writes the checkpoint. A failure some processes meet
// before or between steps is thrown by all; one met inside a step ends the whole run
// (abort_run), which would otherwise wait for the failed process forever.
class Trainer {
 public:
  // `corpus` is the whole text as ids of model.tokenizer (a token file's vocabulary must be
  // the model's); its last val_frac is held out. Throws Error before any work where
  // options.out_path cannot be written, where options.resume finds no run to continue, and
  // where the processes of a run disagree on the model, the corpus, the options or the run
  // they resume (naming what differs).
  Trainer(Model model, Corpus corpus, const TrainOptions& options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  const std::string& engine_name() const;
  // What the user should hear about, one line each: stale temporary files of the checkpoint
  // that a killed earlier run left behind, which construction removed.
  const std::vector<std::string>& notes() const;
  int64_t total_steps() const;
  int64_t step() const;
  // Trains until total_steps(), until options.time_limit runs out (after the step in which it
  // does) or until *stop becomes true (on any process of the run); checkpoints at the end
  // either way.
  void run(const ProgressCallback& on_progress, const std::atomic<bool>* stop = nullptr);
  // Mean cross-entropy of the validation tail (nats per token); < 0 when there is none. Every
  // process of a run calls it.
  double validation_loss();
  // The current weights (read back from the engine).
  const Model& model();
  // Every process of a run calls it; process 0 writes.
  void save_checkpoint();

 private:
  // The optimizer state, data position and carried state saved beside options.out_path.
  void resume();

  Model model_;
  TrainOptions options_;
  std::unique_ptr<CorpusBatches> data_;
  std::unique_ptr<TrainingEngine> engine_;
  std::vector<std::string> notes_;
  int64_t step_ = 0;
  Communicator* world_;
};

std::string optimizer_state_path(const std::string& checkpoint_path);

// A training text as ids of `tokenizer`: word level maps the words its capped vocabulary lacks
// to <unk>; char level refuses a character outside the vocabulary (a model built from another
// text), naming it.
std::vector<int> encode_corpus(const Tokenizer& tokenizer, const std::string& text);

}  // namespace genrnn
