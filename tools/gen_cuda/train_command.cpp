// gen_cuda train: builds (or resumes) a model and trains it on a text file.
#include <genrnn/genrnn.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "commands.hpp"
#include "progress_reporter.hpp"

namespace gen_cuda {
namespace {

struct TrainArguments {
  std::string data_path;
  std::string tokenizer = "char";
  int vocab_size = 10000;
  std::string cell = "lstm";
  int layers = 2;
  int hidden = 128;
  int embed = 32;
  std::string optimizer;  // the library's default, set with the flags
  std::string device = "auto";
  int64_t log_every = 50;
  std::string log_csv_path;
  genrnn::TrainOptions options;
  // The flags a resumed run ignores: the checkpoint fixes the model's shape and vocabulary.
  std::vector<const CLI::Option*> shape_options;
};

// Checked while parsing, so that a mistyped folder fails before training rather than after.
CLI::Validator in_existing_folder() {
  auto check = [](std::string& path) -> std::string {
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (folder.empty() || std::filesystem::is_directory(folder)) return {};
    if (std::filesystem::exists(folder)) return "'" + folder.string() + "' is not a folder";
    return "folder '" + folder.string() + "' does not exist";
  };
  return CLI::Validator(check, "FILE");
}

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void request_stop(int) { stop_requested = true; }

// Ctrl-C or SIGTERM lets the trainer checkpoint and return; a second one kills at once
// (SA_RESETHAND), for a user who does not want to wait.
void install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

genrnn::ModelConfig new_shape(const TrainArguments& args) {
  genrnn::ModelConfig shape;
  shape.cell = genrnn::parse_cell(args.cell);
  shape.num_layers = args.layers;
  shape.hidden_size = args.hidden;
  shape.embedding_dim = args.embed;
  shape.tokenizer = genrnn::parse_tokenizer_kind(args.tokenizer);
  return shape;
}

genrnn::Model new_model(const TrainArguments& args, const std::string& text) {
  return genrnn::Model::for_text(new_shape(args), text, args.vocab_size, args.options.seed);
}

// A new model with a token file's vocabulary: the weights Model::for_text gives for its text.
// --tokenizer must be the file's kind, if given; --vocab-size is the file's, and a note says so.
genrnn::Model new_model(const TrainArguments& args, const genrnn::Tokenizer& vocabulary,
                        std::vector<std::string>& notes) {
  genrnn::ModelConfig shape = new_shape(args);
  const CLI::Option* tokenizer = args.shape_options[0];
  const CLI::Option* vocab_size = args.shape_options[1];
  if (tokenizer->count() > 0 && shape.tokenizer != vocabulary.kind())
    throw genrnn::Error("--tokenizer " + args.tokenizer + " does not match token file '" + args.data_path +
                        "', made with the " + genrnn::to_string(vocabulary.kind()) +
                        " tokenizer; leave --tokenizer out, or tokenize the text again");
  if (vocab_size->count() > 0)
    notes.push_back("ignoring --vocab-size: token file " + args.data_path + " has its own vocabulary (" +
                    std::to_string(vocabulary.size()) + " tokens)");
  shape.tokenizer = vocabulary.kind();
  shape.vocab_size = vocabulary.size();
  return genrnn::Model::initialize(shape, vocabulary, args.options.seed);
}

// The checkpoint --resume continues; a note names the shape flags it makes moot.
genrnn::Model model_to_resume(const TrainArguments& args, std::vector<std::string>& notes) {
  genrnn::Model model = genrnn::Model::load(args.options.out_path);
  std::string ignored;
  for (const CLI::Option* option : args.shape_options) {
    if (option->count() > 0) ignored += (ignored.empty() ? "" : ", ") + option->get_name();
  }
  if (!ignored.empty())
    notes.push_back("--resume keeps the model saved in " + args.options.out_path + "; ignoring " + ignored);
  return model;
}

std::string describe_shape(const genrnn::ModelConfig& config) {
  return genrnn::to_string(config.cell) + ", " + std::to_string(config.num_layers) + " x " +
         std::to_string(config.hidden_size) + " hidden, " +
         (config.embedding_dim > 0 ? "embedding " + std::to_string(config.embedding_dim)
                                   : std::string("one-hot input")) +
         ", " + genrnn::to_string(config.tokenizer) + " vocabulary of " + std::to_string(config.vocab_size);
}

// The corpus and the model to train on it: a token file memory-mapped, or a text tokenized here.
// `notes` are said once training is set up, so that an error before is the only line on stderr.
struct Start {
  genrnn::Model model;
  genrnn::Corpus corpus;
  std::vector<std::string> notes;
};

Start start_training(const TrainArguments& args) {
  std::vector<std::string> notes;
  if (genrnn::is_token_file(args.data_path)) {
    genrnn::Corpus corpus = genrnn::open_token_file(args.data_path);
    if (!args.options.resume) {
      genrnn::Model model = new_model(args, *corpus.tokenizer(), notes);
      return {std::move(model), std::move(corpus), std::move(notes)};
    }
    genrnn::Model model = model_to_resume(args, notes);
    genrnn::require_vocabulary(corpus, model.tokenizer, "that of checkpoint '" + args.options.out_path + "'");
    return {std::move(model), std::move(corpus), std::move(notes)};
  }
  const std::string text = genrnn::read_corpus_file(args.data_path);
  genrnn::Model model = args.options.resume ? model_to_resume(args, notes) : new_model(args, text);
  genrnn::Corpus corpus = genrnn::encode_corpus(model.tokenizer, text);
  return {std::move(model), std::move(corpus), std::move(notes)};
}

int run_train(TrainArguments& args) {
  Start start = start_training(args);
  const genrnn::Corpus corpus = start.corpus;  // shares the ids
  const bool token_file = corpus.tokenizer() != nullptr;
  const genrnn::ModelConfig config = start.model.config;

  args.options.step.optimizer = genrnn::parse_optimizer(args.optimizer);
  args.options.engine.device = genrnn::parse_device(args.device);
  // A GPU engine waits for the device to read the loss: only when a progress line can show it.
  args.options.loss_every = ::isatty(STDERR_FILENO) == 1 ? 10 : args.log_every;
  genrnn::Trainer trainer(std::move(start.model), std::move(start.corpus), args.options);
  for (const std::string& note : start.notes) std::cerr << "note: " << note << '\n';
  for (const std::string& note : trainer.notes()) std::cerr << "note: " << note << '\n';

  std::cerr << "engine: " << trainer.engine_name() << '\n'
            << "model: " << describe_shape(config) << "; " << genrnn::parameter_count(config) << " parameters\n"
            << "data: " << (token_file ? "token file, " : "") << corpus.size() << " tokens; " << trainer.total_steps()
            << " steps of " << args.options.batch << " x " << args.options.seq_len << " tokens";
  if (args.options.time_limit > 0) std::cerr << ", or " << args.options.time_limit << " s, whichever ends first";
  if (args.options.resume) std::cerr << ", resuming after step " << trainer.step();
  std::cerr << std::endl;

  // In a data-parallel run, process 0 alone writes the CSV (the others print nothing either).
  const std::string log_csv = genrnn::process_place().rank == 0 ? args.log_csv_path : std::string();
  ProgressReporter reporter(config.tokenizer, args.log_every, trainer.step(), args.options.time_limit, log_csv,
                            args.options.resume);
  install_stop_handler();
  trainer.run([&](const genrnn::TrainProgress& progress) { reporter.report(progress); }, &stop_requested);
  reporter.finish();

  const std::string& out_path = args.options.out_path;
  if (stop_requested && trainer.step() < trainer.total_steps()) {
    std::cerr << "interrupted at step " << trainer.step() << "; checkpoint saved to " << out_path << std::endl;
    return interrupted_exit_status;
  }
  const genrnn::TrainProgress& last = reporter.last();
  if (last.out_of_time)
    std::cerr << "stopped at the time limit (" << args.options.time_limit << " s) at step " << trainer.step() << " of "
              << trainer.total_steps();
  else
    std::cerr << "done at step " << trainer.step();
  if (last.step > 0) std::cerr << ": train loss " << last.train_loss;
  if (last.val_loss >= 0) std::cerr << ", val loss " << last.val_loss;
  std::cerr << "; model saved to " << out_path << std::endl;
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  CLI::App* command = parent.add_subcommand("train", "Train a model on a text file");
  auto args = std::make_shared<TrainArguments>();
  genrnn::TrainOptions& options = args->options;  // its defaults are the flags'
  args->optimizer = genrnn::to_string(options.step.optimizer);

  command
      ->add_option("--data", args->data_path,
                   "Training text (UTF-8), or a token file (gen_cuda tokenize), which is memory-mapped and brings "
                   "its vocabulary")
      ->required();
  command->add_option("--out", options.out_path, "Checkpoint to write (safetensors)")
      ->required()
      ->check(in_existing_folder());
  args->shape_options = {
      command->add_option("--tokenizer", args->tokenizer, "char: code points; word: words and punctuation")
          ->check(CLI::IsMember({"char", "word"}))
          ->capture_default_str(),
      command->add_option("--vocab-size", args->vocab_size, "Word level: vocabulary size, <unk> included")
          ->check(at_least(2))
          ->capture_default_str(),
      command->add_option("--cell", args->cell, "Recurrent cell")
          ->check(CLI::IsMember(genrnn::cell_names()))
          ->capture_default_str(),
      command->add_option("--layers", args->layers, "Stacked recurrent layers")
          ->check(number_in(1, Bound::included, 64, Bound::included))
          ->capture_default_str(),
      command->add_option("--hidden", args->hidden, "Hidden size of each layer")
          ->check(at_least(1))
          ->capture_default_str(),
      command->add_option("--embed", args->embed, "Embedding size; 0: one-hot input")
          ->check(at_least(0))
          ->capture_default_str(),
  };
  command->add_option("--seq-len", options.seq_len, "Tokens per training window (truncated BPTT)")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--batch", options.batch, "Parallel streams per step")->check(at_least(1))->capture_default_str();
  CLI::Option* steps =
      command->add_option("--steps", options.steps, "Training steps (default: 1 epoch)")->check(at_least(1));
  CLI::Option* epochs =
      command->add_option("--epochs", options.epochs, "Passes over the training data")->check(at_least(1));
  steps->excludes(epochs);
  command
      ->add_option("--time-limit", options.time_limit,
                   "Seconds to train: stop after the step during which they run out, validated and saved as "
                   "at the last step; --steps or --epochs still cap the run. 0: no limit")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--lr", options.step.learning_rate, "Learning rate")->check(above(0))->capture_default_str();
  command->add_option("--clip", options.step.clip, "Global gradient norm limit; 0: off")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--dropout", options.step.dropout, "Dropout between layers while training")
      ->check(number_in(0, Bound::included, 1, Bound::excluded))
      ->capture_default_str();
  command->add_option("--optimizer", args->optimizer, "Optimizer")
      ->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  command->add_option("--val-frac", options.val_frac, "Fraction of the text held out for validation")
      ->check(number_in(0, Bound::included, 0.5, Bound::included))
      ->capture_default_str();
  command->add_option("--seed", options.seed, "Seed for initialisation and dropout")
      ->check(at_least(0))
      ->capture_default_str();
  command
      ->add_option("--checkpoint-every", options.checkpoint_every,
                   "Save every N steps (and at the end); 0: only at the end")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--eval-every", options.eval_every, "Validation loss every N steps")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--log-every", args->log_every, "Progress line every N steps when stderr is not a terminal")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_flag("--resume", args->options.resume,
                    "Continue the run saved in --out (weights, optimizer, data position)");
  command->add_option("--log-csv", args->log_csv_path, "Write one CSV row per step to FILE")
      ->check(in_existing_folder());
  add_device_option(*command, args->device);
  add_engine_option(*command, options.engine.engine);
  add_gpu_option(*command, options.engine.gpu);
  add_threads_option(*command);
  command->add_flag("--tf32", options.engine.tf32,
                    "GPU: TF32 tensor cores for float32 products (off: results match the CPU)");

  return {command, [args] { return run_train(*args); }};
}

}  // namespace gen_cuda
