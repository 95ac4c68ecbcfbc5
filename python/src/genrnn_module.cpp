// genrnn._genrnn: the C++ library as the Python package (python/genrnn) sees it. Thin on
// purpose: each binding converts its arguments, releases the GIL around the library's work and
// converts the result; the Pythonic API (defaults, text or path, torch, progress bars) is in
// python/genrnn. genrnn::Error becomes genrnn.Error, with the library's one-line message.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <genrnn/genrnn.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using Array = nb::ndarray<nb::numpy, float>;
// What Python hands in: float32, C order, on the host (python/genrnn converts before calling).
using InputArray = nb::ndarray<const float, nb::c_contig, nb::device::cpu>;

Array to_numpy(std::vector<float> values, std::vector<std::size_t> shape) {
  auto* owner = new std::vector<float>(std::move(values));
  nb::capsule free_when_done(owner, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  return Array(owner->data(), shape.size(), shape.data(), free_when_done);
}

std::vector<float> to_vector(const InputArray& array) {
  return std::vector<float>(array.data(), array.data() + array.size());
}

// A state as numpy [layers, batch, hidden]: h, and c for an LSTM (None otherwise).
using StateArrays = std::pair<Array, std::optional<Array>>;

StateArrays state_to_numpy(const genrnn::ModelConfig& config, genrnn::RecurrentState state) {
  const std::vector<std::size_t> shape{static_cast<std::size_t>(config.num_layers),
                                       static_cast<std::size_t>(state.batch),
                                       static_cast<std::size_t>(config.hidden_size)};
  std::optional<Array> c;
  if (!state.c.empty()) c = to_numpy(std::move(state.c), shape);
  return {to_numpy(std::move(state.h), shape), c};
}

// h (and c) of shape [layers, batch, hidden] as the library's state; the engine checks the sizes.
std::optional<genrnn::RecurrentState> state_from_numpy(const genrnn::ModelConfig& config,
                                                       const std::optional<InputArray>& h,
                                                       const std::optional<InputArray>& c) {
  if (!h) {
    if (c) throw genrnn::Error("an initial state with c needs h too");
    return std::nullopt;
  }
  auto check = [&](const InputArray& array, const char* which) {
    if (array.ndim() != 3 || array.shape(0) != static_cast<std::size_t>(config.num_layers) ||
        array.shape(2) != static_cast<std::size_t>(config.hidden_size) || (c && array.shape(1) != h->shape(1)))
      throw genrnn::Error(std::string("the initial state's ") + which + " must have shape [layers " +
                          std::to_string(config.num_layers) + ", batch, hidden " + std::to_string(config.hidden_size) +
                          "]");
  };
  check(*h, "h");
  if (c) check(*c, "c");
  return genrnn::RecurrentState{static_cast<int>(h->shape(1)), to_vector(*h), c ? to_vector(*c) : std::vector<float>{}};
}

// The enumerations as Python sees them: the names gen_cuda's flags take.
std::string device_name(genrnn::Device device) {
  return device == genrnn::Device::cpu ? "cpu" : device == genrnn::Device::cuda ? "cuda" : "auto";
}

std::string unknown_name(genrnn::UnknownPolicy policy) {
  return policy == genrnn::UnknownPolicy::skip ? "skip" : policy == genrnn::UnknownPolicy::unk ? "unk" : "error";
}

genrnn::Model model_from_parts(const std::string& cell, int num_layers, int hidden_size, int embedding_dim,
                               const std::string& tokenizer, std::vector<std::string> vocab,
                               const InputArray& parameters) {
  genrnn::ModelConfig config{genrnn::parse_cell(cell),
                             num_layers,
                             hidden_size,
                             embedding_dim,
                             static_cast<int>(vocab.size()),
                             genrnn::parse_tokenizer_kind(tokenizer)};
  config.validate();
  const std::size_t expected = genrnn::parameter_count(config);
  if (parameters.size() != expected)
    throw genrnn::Error("the model has " + std::to_string(expected) + " parameters; " +
                        std::to_string(parameters.size()) + " were given");
  genrnn::Tokenizer vocabulary = genrnn::Tokenizer::from_vocab(config.tokenizer, std::move(vocab));
  return genrnn::Model{config, std::move(vocabulary), to_vector(parameters)};
}

// Training in steps Python can watch: the callback runs after each step with the GIL held, and a
// KeyboardInterrupt (or any exception) it raises, or a Ctrl-C pending, stops the run after that
// step; the checkpoint is saved, then the exception is raised again.
class Training {
 public:
  Training(genrnn::Model model, const std::string& text, const genrnn::TrainOptions& options, bool resume)
      : Training(model, genrnn::encode_corpus(model.tokenizer, text), options, resume) {}
  // A token file's ids (genrnn.open_token_file), read a window at a time.
  Training(genrnn::Model model, genrnn::Corpus corpus, genrnn::TrainOptions options, bool resume) {
    options.resume = resume;
    trainer_ = std::make_unique<genrnn::Trainer>(std::move(model), std::move(corpus), options);
  }

  void run(const nb::object& on_progress) {
    std::atomic<bool> stop{false};
    std::optional<nb::python_error> raised;
    {
      nb::gil_scoped_release release;
      trainer_->run(
          [&](const genrnn::TrainProgress& progress) {
            nb::gil_scoped_acquire acquire;
            try {
              if (PyErr_CheckSignals() != 0) throw nb::python_error();
              if (!on_progress.is_none()) on_progress(progress);
            } catch (nb::python_error& error) {
              raised.emplace(std::move(error));
              stop = true;
            }
          },
          &stop);
    }
    if (raised) throw std::move(*raised);
  }

  genrnn::Trainer& trainer() { return *trainer_; }

 private:
  std::unique_ptr<genrnn::Trainer> trainer_;
};

// The library's token callback over a Python callable (stream, piece) -> None, called with the
// GIL held; also where a Ctrl-C reaches a long generation: at every token with a callable, every
// 256 without one (so that plain generation takes the GIL that rarely). (Pieces are whole tokens,
// and a stop string cuts at its own end: always whole UTF-8 characters.)
genrnn::TokenCallback piece_callback(const nb::object& on_piece) {
  const bool has_callable = !on_piece.is_none();
  return [on_piece, has_callable, calls = 0u](int stream, int, const std::string& piece) mutable {
    if (!has_callable && ++calls % 256 != 0) return;
    nb::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
    if (has_callable) on_piece(stream, piece);
  };
}

}  // namespace

NB_MODULE(_genrnn, m) {
  m.doc() = "genrnn's C++ library; use the genrnn package, which wraps it.";
  nb::exception<genrnn::Error> error(m, "Error", PyExc_ValueError);
  error.attr("__doc__") = "What genrnn refused or failed at, in one line (the same as gen_cuda's message).";
  error.attr("__module__") = "genrnn";  // tracebacks say genrnn.Error, the name users catch

  m.def("version", &genrnn::version, "The library's version.");
  m.def(
      "process_place",
      [] {
        const genrnn::ProcessPlace place = genrnn::process_place();
        nb::dict out;
        out["rank"] = place.rank;
        out["size"] = place.size;
        out["local_rank"] = place.local_rank;
        out["local_size"] = place.local_size;
        return out;
      },
      "This process's place in a data-parallel run (mpirun): rank, size, local_rank, local_size; rank 0 of 1 "
      "alone. Starts MPI in a process that mpirun started.");
  m.def("build_has_mpi", &genrnn::build_has_mpi, "Whether this build trains data-parallel under mpirun.");
  m.def(
      "share_failure",
      [](const std::string& message) {
        nb::gil_scoped_release release;
        genrnn::share_failure(message);
      },
      "message"_a,
      "Every process of a run calls it, with a failure's message or \"\": where any has one, every process raises "
      "genrnn.Error with it.");
  m.def(
      "engines",
      [] {
        std::vector<nb::dict> engines;
        for (const genrnn::EngineInfo& info : genrnn::registered_engines()) {
          nb::dict engine;
          engine["name"] = info.name;
          engine["description"] = info.description;
          engine["device"] = info.device;
          engine["dropout"] = info.dropout;
          engine["decoders"] = info.decoders;
          engine["cells"] = info.cells;
          engine["limits"] = info.limits;
          engine["in_this_build"] = info.in_this_build;
          engine["why_not"] = info.why_not;
          engines.push_back(engine);
        }
        return engines;
      },
      "The registered engines, every field of the library's EngineInfo: name, description, device, dropout, "
      "decoders, cells, limits, in_this_build, why_not.");

  // The option structs, field by field, made with the library's defaults: python/genrnn sets only
  // what its caller gave, so that every default lives in the C++ headers alone.
  nb::class_<genrnn::EngineOptions>(m, "EngineOptions", "genrnn::EngineOptions: how an engine is picked and set up.")
      .def(nb::init<>())
      .def_prop_rw(
          "device", [](const genrnn::EngineOptions& o) { return device_name(o.device); },
          [](genrnn::EngineOptions& o, const std::string& name) { o.device = genrnn::parse_device(name); },
          "\"auto\", \"cpu\" or \"cuda\".")
      .def_rw("engine", &genrnn::EngineOptions::engine)
      .def_rw("tf32", &genrnn::EngineOptions::tf32)
      .def_rw("cuda_graphs", &genrnn::EngineOptions::cuda_graphs)
      .def_rw("decoder", &genrnn::EngineOptions::decoder)
      .def_rw("gpu", &genrnn::EngineOptions::gpu, "The CUDA device; -1: the current one.");

  nb::class_<genrnn::StepOptions>(m, "StepOptions", "genrnn::StepOptions: what every training step does.")
      .def(nb::init<>())
      .def_prop_rw(
          "optimizer", [](const genrnn::StepOptions& o) { return genrnn::to_string(o.optimizer); },
          [](genrnn::StepOptions& o, const std::string& name) { o.optimizer = genrnn::parse_optimizer(name); },
          "\"adam\" or \"sgd\".")
      .def_rw("learning_rate", &genrnn::StepOptions::learning_rate)
      .def_rw("clip", &genrnn::StepOptions::clip)
      .def_rw("dropout", &genrnn::StepOptions::dropout);

  // Nested structs are returned by reference (nanobind's def_rw: reference_internal), so that
  // options.engine.device = "cpu" sets the field of `options`.
  nb::class_<genrnn::TrainOptions>(m, "TrainOptions", "genrnn::TrainOptions: a training run.")
      .def(nb::init<>())
      .def_rw("engine", &genrnn::TrainOptions::engine)
      .def_rw("step", &genrnn::TrainOptions::step)
      .def_rw("seq_len", &genrnn::TrainOptions::seq_len)
      .def_rw("batch", &genrnn::TrainOptions::batch)
      .def_rw("steps", &genrnn::TrainOptions::steps)
      .def_rw("epochs", &genrnn::TrainOptions::epochs)
      .def_rw("time_limit", &genrnn::TrainOptions::time_limit)
      .def_rw("val_frac", &genrnn::TrainOptions::val_frac)
      .def_rw("seed", &genrnn::TrainOptions::seed)
      .def_rw("eval_every", &genrnn::TrainOptions::eval_every)
      .def_rw("checkpoint_every", &genrnn::TrainOptions::checkpoint_every)
      .def_rw("loss_every", &genrnn::TrainOptions::loss_every)
      .def_rw("out_path", &genrnn::TrainOptions::out_path);

  nb::class_<genrnn::SamplingOptions>(m, "SamplingOptions", "genrnn::SamplingOptions: how a token is drawn.")
      .def(nb::init<>())
      .def_rw("temperature", &genrnn::SamplingOptions::temperature)
      .def_rw("top_k", &genrnn::SamplingOptions::top_k)
      .def_rw("top_p", &genrnn::SamplingOptions::top_p)
      .def_rw("seed", &genrnn::SamplingOptions::seed);

  nb::class_<genrnn::GenerateOptions>(m, "GenerateOptions", "genrnn::GenerateOptions: a generation.")
      .def(nb::init<>())
      .def_rw("length", &genrnn::GenerateOptions::length)
      .def_rw("num_samples", &genrnn::GenerateOptions::num_samples)
      .def_rw("sampling", &genrnn::GenerateOptions::sampling)
      .def_prop_rw(
          "unknown", [](const genrnn::GenerateOptions& o) { return unknown_name(o.unknown); },
          [](genrnn::GenerateOptions& o, const std::string& name) { o.unknown = genrnn::parse_unknown_policy(name); },
          "\"error\", \"skip\" or \"unk\".")
      .def_rw("stop", &genrnn::GenerateOptions::stop)
      .def_rw("beam_width", &genrnn::GenerateOptions::beam_width)
      .def_rw("length_penalty", &genrnn::GenerateOptions::length_penalty);
  m.def("cpu_threads", &genrnn::cpu_threads,
        "The CPU engine's threads (one setting per process, for OpenBLAS's and oneDNN's pools).");
  m.def("set_cpu_threads", &genrnn::set_cpu_threads, "count"_a,
        "Sets the CPU engine's threads (1 to 1024); the default is one per core this process may use.");
  m.def("read_corpus_file", &genrnn::read_corpus_file, "path"_a,
        "A training or evaluation text file (UTF-8, within the memory limit), as text.");

  // Token files (genrnn/token_file.hpp): a corpus tokenized once, memory-mapped to train on.
  nb::class_<genrnn::TokenFileSummary>(m, "TokenFileSummary", "What genrnn.tokenize wrote.")
      .def_prop_ro("tokenizer", [](const genrnn::TokenFileSummary& s) { return genrnn::to_string(s.kind); })
      .def_ro("vocab_size", &genrnn::TokenFileSummary::vocab_size)
      .def_ro("id_width", &genrnn::TokenFileSummary::id_width, "Bytes per id: 2 or 4.")
      .def_ro("tokens", &genrnn::TokenFileSummary::tokens)
      .def_ro("text_bytes", &genrnn::TokenFileSummary::text_bytes)
      .def_ro("file_bytes", &genrnn::TokenFileSummary::file_bytes)
      .def("__repr__", [](const genrnn::TokenFileSummary& s) {
        return "TokenFileSummary(tokens=" + std::to_string(s.tokens) + ", tokenizer='" + genrnn::to_string(s.kind) +
               "', vocab_size=" + std::to_string(s.vocab_size) + ", id_width=" + std::to_string(s.id_width) +
               ", text_bytes=" + std::to_string(s.text_bytes) + ", file_bytes=" + std::to_string(s.file_bytes) + ")";
      });
  nb::class_<genrnn::TokenizeProgress>(m, "TokenizeProgress", "Where tokenizing stands.")
      .def_ro("current_pass", &genrnn::TokenizeProgress::pass, "This pass, from 1: counting, then writing ids.")
      .def_ro("passes", &genrnn::TokenizeProgress::passes)
      .def_ro("bytes", &genrnn::TokenizeProgress::bytes, "Bytes of the text read in this pass.")
      .def_ro("total_bytes", &genrnn::TokenizeProgress::total_bytes);
  m.def(
      "tokenize",
      [](const std::string& text_path, const std::string& out_path, const std::string& tokenizer, int vocab_size,
         const genrnn::Model* model, const std::optional<std::string>& unknown, const nb::object& on_progress) {
        genrnn::TokenizeCallback callback;
        if (!on_progress.is_none()) {
          callback = [&on_progress](const genrnn::TokenizeProgress& progress) {
            nb::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) throw nb::python_error();
            on_progress(progress);
          };
        }
        nb::gil_scoped_release release;
        if (model == nullptr) {
          if (unknown) throw genrnn::Error("unknown needs model: a vocabulary built from the text holds all of it");
          return genrnn::tokenize_text_file(text_path, out_path, genrnn::parse_tokenizer_kind(tokenizer), vocab_size,
                                            callback);
        }
        const genrnn::UnknownPolicy policy = unknown ? genrnn::parse_unknown_policy(*unknown)
                                             : model->tokenizer.kind() == genrnn::TokenizerKind::word
                                                 ? genrnn::UnknownPolicy::unk
                                                 : genrnn::UnknownPolicy::error;
        return genrnn::tokenize_text_file(text_path, out_path, model->tokenizer, policy, callback);
      },
      "text_path"_a, "out_path"_a, "tokenizer"_a, "vocab_size"_a, "model"_a.none(), "unknown"_a.none(),
      "on_progress"_a.none(),
      "Tokenizes a text file into a token file (with the model's vocabulary when one is given).");
  m.def("is_token_file", &genrnn::is_token_file, "path"_a, "Whether the file starts as a token file does.");
  nb::class_<genrnn::Corpus>(m, "TokenFile", "A token file's ids, memory-mapped, and its vocabulary.")
      .def_prop_ro("tokens", &genrnn::Corpus::size)
      .def_prop_ro("tokenizer", [](const genrnn::Corpus& c) { return genrnn::to_string(c.tokenizer()->kind()); })
      .def_prop_ro("vocab", [](const genrnn::Corpus& c) { return c.tokenizer()->tokens(); });
  m.def(
      "open_token_file",
      [](const std::string& path) {
        nb::gil_scoped_release release;
        return genrnn::open_token_file(path);
      },
      "path"_a, "A token file, checked (header, vocabulary, every id), memory-mapped.");
  m.def(
      "require_vocabulary",
      [](const genrnn::Corpus& corpus, const genrnn::Model& model, const std::string& whose) {
        genrnn::require_vocabulary(corpus, model.tokenizer, whose);
      },
      "corpus"_a, "model"_a, "whose"_a, "Raises genrnn.Error unless the token file has the model's vocabulary.");
  m.def(
      "parameter_layout",
      [](const std::string& cell, int num_layers, int hidden_size, int embedding_dim, int vocab_size,
         const std::string& tokenizer) {
        const genrnn::ModelConfig config{genrnn::parse_cell(cell),
                                         num_layers,
                                         hidden_size,
                                         embedding_dim,
                                         vocab_size,
                                         genrnn::parse_tokenizer_kind(tokenizer)};
        config.validate();
        std::vector<std::tuple<std::string, std::vector<int64_t>, std::size_t>> layout;
        for (const genrnn::TensorSpec& spec : genrnn::parameter_layout(config))
          layout.emplace_back(spec.name, spec.shape, spec.offset);
        return layout;
      },
      "cell"_a, "num_layers"_a, "hidden_size"_a, "embedding_dim"_a, "vocab_size"_a, "tokenizer"_a,
      "The model's tensors in the flat parameter buffer: (PyTorch name, shape, offset).");

  nb::class_<genrnn::Model>(m, "Model", "A model on the host: shape, vocabulary and weights.")
      .def_static(
          "load",
          [](const std::string& path) {
            nb::gil_scoped_release release;
            return genrnn::Model::load(path);
          },
          "path"_a, "Reads a safetensors checkpoint, validated completely.")
      .def_static(
          "for_text",
          [](const std::string& text, const std::string& cell, int num_layers, int hidden_size, int embedding_dim,
             const std::string& tokenizer, int max_vocab, uint64_t seed) {
            genrnn::ModelConfig shape{genrnn::parse_cell(cell),
                                      num_layers,
                                      hidden_size,
                                      embedding_dim,
                                      0,
                                      genrnn::parse_tokenizer_kind(tokenizer)};
            nb::gil_scoped_release release;
            return genrnn::Model::for_text(shape, text, max_vocab, seed);
          },
          "text"_a, "cell"_a, "num_layers"_a, "hidden_size"_a, "embedding_dim"_a, "tokenizer"_a, "max_vocab"_a,
          "seed"_a, "A new, initialised model with the vocabulary of `text`.")
      .def_static(
          "for_token_file",
          [](const genrnn::Corpus& corpus, const std::string& cell, int num_layers, int hidden_size, int embedding_dim,
             uint64_t seed) {
            const genrnn::Tokenizer& vocabulary = *corpus.tokenizer();
            const genrnn::ModelConfig config{genrnn::parse_cell(cell), num_layers,       hidden_size, embedding_dim,
                                             vocabulary.size(),        vocabulary.kind()};
            nb::gil_scoped_release release;
            return genrnn::Model::initialize(config, vocabulary, seed);
          },
          "corpus"_a, "cell"_a, "num_layers"_a, "hidden_size"_a, "embedding_dim"_a, "seed"_a,
          "A new, initialised model with a token file's vocabulary (as for_text with its text).")
      .def_static("from_parts", &model_from_parts, "cell"_a, "num_layers"_a, "hidden_size"_a, "embedding_dim"_a,
                  "tokenizer"_a, "vocab"_a, "parameters"_a,
                  "A model from its shape, vocabulary and flat float32 parameters (parameter_layout's order).")
      .def(
          "save",
          [](const genrnn::Model& model, const std::string& path) {
            nb::gil_scoped_release release;
            model.save(path);
          },
          "path"_a, "Writes a safetensors checkpoint (a temporary file renamed into place).")
      .def_prop_ro("cell", [](const genrnn::Model& model) { return genrnn::to_string(model.config.cell); })
      .def_prop_ro("num_layers", [](const genrnn::Model& model) { return model.config.num_layers; })
      .def_prop_ro("hidden_size", [](const genrnn::Model& model) { return model.config.hidden_size; })
      .def_prop_ro("embedding_dim", [](const genrnn::Model& model) { return model.config.embedding_dim; })
      .def_prop_ro("vocab_size", [](const genrnn::Model& model) { return model.config.vocab_size; })
      .def_prop_ro("tokenizer", [](const genrnn::Model& model) { return genrnn::to_string(model.config.tokenizer); })
      .def_prop_ro("vocab", [](const genrnn::Model& model) { return model.tokenizer.tokens(); })
      .def_prop_ro("num_parameters", [](const genrnn::Model& model) { return model.parameters.size(); })
      .def(
          "parameters",
          [](const genrnn::Model& model) { return to_numpy(model.parameters, {model.parameters.size()}); },
          "A copy of the flat float32 parameters.")
      .def(
          "encode",
          [](const genrnn::Model& model, const std::string& text, const std::string& unknown) {
            return model.tokenizer.encode(text, genrnn::parse_unknown_policy(unknown));
          },
          "text"_a, "unknown"_a, "Token ids of `text`.")
      .def(
          "decode", [](const genrnn::Model& model, const std::vector<int>& ids) { return model.tokenizer.decode(ids); },
          "ids"_a, "The text of token ids.");

  nb::class_<genrnn::TrainProgress>(m, "TrainProgress", "Where a training run stands, after a step.")
      .def_ro("step", &genrnn::TrainProgress::step, "Steps done.")
      .def_ro("total_steps", &genrnn::TrainProgress::total_steps)
      .def_ro("train_loss", &genrnn::TrainProgress::train_loss,
              "Mean cross-entropy (nats per token) of the last step that read it.")
      .def_ro("loss_read", &genrnn::TrainProgress::loss_read, "train_loss was read at this step.")
      .def_ro("val_loss", &genrnn::TrainProgress::val_loss, "The last validation loss; < 0 while there is none.")
      .def_ro("evaluated", &genrnn::TrainProgress::evaluated, "val_loss was computed at this step.")
      .def_ro("checkpointed", &genrnn::TrainProgress::checkpointed, "A checkpoint was saved at this step.")
      .def_ro("out_of_time", &genrnn::TrainProgress::out_of_time,
              "The time limit ran out during this step, which ended the run.")
      .def_ro("tokens", &genrnn::TrainProgress::tokens, "Tokens trained on since the run's first step.")
      .def_ro("tokens_per_second", &genrnn::TrainProgress::tokens_per_second)
      .def_ro("elapsed_seconds", &genrnn::TrainProgress::elapsed_seconds)
      .def("__repr__", [](const genrnn::TrainProgress& p) {
        return "TrainProgress(step=" + std::to_string(p.step) + "/" + std::to_string(p.total_steps) +
               ", train_loss=" + std::to_string(p.train_loss) + ", val_loss=" + std::to_string(p.val_loss) + ")";
      });

  nb::class_<Training>(m, "Training", "A training run (genrnn.train drives it).")
      .def(
          "__init__",
          [](Training* self, const genrnn::Model& model, const std::string& text, const genrnn::TrainOptions& options,
             bool resume) {
            nb::gil_scoped_release release;
            new (self) Training(model, text, options, resume);
          },
          "model"_a, "text"_a, "options"_a, "resume"_a)
      .def(
          "__init__",
          [](Training* self, const genrnn::Model& model, const genrnn::Corpus& corpus,
             const genrnn::TrainOptions& options, bool resume) {
            nb::gil_scoped_release release;
            new (self) Training(model, corpus, options, resume);
          },
          "model"_a, "corpus"_a, "options"_a, "resume"_a)
      .def("run", &Training::run, "on_progress"_a.none(),
           "Trains to the end, calling on_progress(TrainProgress) after each step; stops early on an exception.")
      .def_prop_ro("engine_name", [](Training& t) { return t.trainer().engine_name(); })
      .def_prop_ro("notes", [](Training& t) { return t.trainer().notes(); })
      .def_prop_ro("total_steps", [](Training& t) { return t.trainer().total_steps(); })
      .def_prop_ro("step", [](Training& t) { return t.trainer().step(); })
      .def(
          "model",
          [](Training& t) {
            nb::gil_scoped_release release;
            return t.trainer().model();
          },
          "The current weights, as a Model.");

  nb::class_<genrnn::Generator>(m, "Generator", "A model set up on an engine for generation.")
      .def(
          "__init__",
          [](genrnn::Generator* self, const genrnn::Model& model, const genrnn::EngineOptions& options) {
            nb::gil_scoped_release release;
            new (self) genrnn::Generator(model, options);
          },
          "model"_a, "options"_a)
      .def_prop_ro("engine_name", &genrnn::Generator::engine_name)
      .def_prop_ro("last_decoder", [](const genrnn::Generator& g) { return g.last_decode().decoder; })
      .def_prop_ro("last_decoder_note", [](const genrnn::Generator& g) { return g.last_decode().note; })
      .def(
          "generate",
          [](genrnn::Generator& generator, const genrnn::Model& model, const std::string& prompt,
             const genrnn::GenerateOptions& options, const std::optional<InputArray>& h,
             const std::optional<InputArray>& c, const nb::object& on_piece) {
            const auto initial = state_from_numpy(model.config, h, c);
            const genrnn::TokenCallback callback = piece_callback(on_piece);
            std::vector<std::string> texts;
            {
              nb::gil_scoped_release release;
              texts = generator.generate(prompt, options, callback, initial ? &*initial : nullptr);
            }
            return texts;
          },
          "model"_a, "prompt"_a, "options"_a, "h"_a.none(), "c"_a.none(), "on_piece"_a.none(),
          "Each stream's generated text; on_piece(stream, piece) is called per token.")
      .def(
          "generate_scored",
          [](genrnn::Generator& generator, const genrnn::Model& model, const std::string& prompt,
             const genrnn::GenerateOptions& options, const std::optional<InputArray>& h,
             const std::optional<InputArray>& c) {
            const auto initial = state_from_numpy(model.config, h, c);
            std::vector<genrnn::GeneratedText> outputs;
            {
              nb::gil_scoped_release release;
              outputs = generator.generate_scored(prompt, options, initial ? &*initial : nullptr);
            }
            nb::list result;
            for (const genrnn::GeneratedText& output : outputs)
              result.append(nb::make_tuple(output.text, output.ids, output.logprob, output.score));
            return result;
          },
          "model"_a, "prompt"_a, "options"_a, "h"_a.none(), "c"_a.none(),
          "Each output as (text, ids, logprob, score): the samples, or a beam search's best first.")
      .def(
          "state_after",
          [](genrnn::Generator& generator, const genrnn::Model& model, const std::string& text,
             const std::string& unknown, const std::optional<InputArray>& h, const std::optional<InputArray>& c) {
            const auto initial = state_from_numpy(model.config, h, c);
            const genrnn::UnknownPolicy policy = genrnn::parse_unknown_policy(unknown);
            genrnn::RecurrentState state;
            {
              nb::gil_scoped_release release;
              state = generator.state_after(text, policy, initial ? &*initial : nullptr);
            }
            return state_to_numpy(model.config, std::move(state));
          },
          "model"_a, "text"_a, "unknown"_a, "h"_a.none(), "c"_a.none(),
          "The state [layers, 1, hidden] (h, and c or None) after reading `text` from the given one.");

  nb::class_<genrnn::EvalResult>(m, "EvalResult", "How well a model predicts a text.")
      .def_ro("loss", &genrnn::EvalResult::loss, "Mean cross-entropy, nats per token.")
      .def_ro("bits_per_token", &genrnn::EvalResult::bits_per_token)
      .def_ro("perplexity", &genrnn::EvalResult::perplexity)
      .def_ro("tokens", &genrnn::EvalResult::tokens, "Tokens predicted: the text's tokens less one.")
      .def_ro("engine", &genrnn::EvalResult::engine, "The engine that computed it.")
      .def("__repr__", [](const genrnn::EvalResult& r) {
        return "EvalResult(loss=" + std::to_string(r.loss) + ", bits_per_token=" + std::to_string(r.bits_per_token) +
               ", perplexity=" + std::to_string(r.perplexity) + ", tokens=" + std::to_string(r.tokens) + ", engine='" +
               r.engine + "')";
      });
  m.def(
      "evaluate",
      [](const genrnn::Model& model, const std::string& text, const std::string& unknown,
         const genrnn::EngineOptions& options) {
        const genrnn::UnknownPolicy policy = genrnn::parse_unknown_policy(unknown);
        nb::gil_scoped_release release;
        return genrnn::evaluate(model, model.tokenizer.encode(text, policy), options);
      },
      "model"_a, "text"_a, "unknown"_a, "options"_a, "Mean cross-entropy of `text`, as one stream from a zero state.");
  m.def(
      "evaluate_token_file",
      [](const genrnn::Model& model, const genrnn::Corpus& corpus, const genrnn::EngineOptions& options) {
        nb::gil_scoped_release release;
        return genrnn::evaluate(model, corpus, options);
      },
      "model"_a, "corpus"_a, "options"_a, "Mean cross-entropy of a token file's ids (the model's vocabulary).");
}
