#pragma once
// The engine roles callers use: training (Trainer, evaluate), decoding (Generator) and, for
// tests and the benchmark only, a few diagnostics. Each public call is a non-virtual entry point
// that checks its arguments once, for every engine, with one set of messages; the engines
// implement only the protected numeric work, which receives checked arguments.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/corpus_batches.hpp"
#include "engine/beam_plan.hpp"
#include "genrnn/config.hpp"
#include "genrnn/sampling.hpp"
#include "genrnn/state.hpp"
#include "genrnn/trainer.hpp"
#include "kernels/dropout_math.cuh"

namespace genrnn {

// A step's options: the run's, and what Trainer decides per step.
struct TrainStepOptions : StepOptions {
  uint64_t dropout_seed = 0;  // masks are drawn by Philox from (dropout_seed, step)
  bool read_loss = true;      // GPU engines read the loss back only when asked
  // Data parallel: the window's streams within the whole batch, which key the dropout masks
  // (count 0: the window is the whole batch).
  StreamSlice streams;
  // The masks of optimizer step `step` for rows of `width` values of the window's streams.
  math::DropoutMask dropout_mask(int64_t step, int width) const;
};

// Where a training step leaves its gradients between backward and the update: one flat buffer
// (on the host, in parameter_layout order; on a GPU, the engine's device layout, with zero
// padding between tensors), the same size on every process of a run.
struct GradientBuffer {
  float* data = nullptr;
  std::size_t count = 0;
  int gpu = -1;            // the CUDA device holding it; -1: host memory
  void* stream = nullptr;  // the cudaStream_t the engine queues its work on
};

// The seam of a data-parallel step: averages the gradients across processes in place, queued
// on the engine's stream for a GPU buffer.
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual void average(const GradientBuffer& gradients) = 0;
};

// Adam's moments over the flat parameter buffer; empty for SGD.
struct OptimizerState {
  int64_t step = 0;
  std::vector<float> m;
  std::vector<float> v;
};

// What a stream's draws are keyed by: Philox (seed, stream, position).
struct DrawKey {
  uint64_t seed;
  uint64_t stream;
};

// How one stream draws: with its own sampling options, Philox keyed by (key.seed, key.stream,
// position), `position` being that of its next draw. A stream that joins a running batch counts
// its positions from its own start, so its text does not depend on when or beside whom it ran.
struct StreamDraw {
  DrawKey key;
  SamplingOptions sampling;
  uint64_t position = 0;
};
// Every stream of `keys` drawing with `sampling`, from `position`.
std::vector<StreamDraw> same_draws(const SamplingOptions& sampling, const std::vector<DrawKey>& keys,
                                   uint64_t position = 0);

// Receives drawn ids [positions][batch]; returns false to end decoding early.
using TokenChunkCallback = std::function<bool(int first_position, int positions, const int* ids)>;

// How a decode ran.
struct DecodeStats {
  std::string decoder;  // "cpu", "graph" or "persistent"
  std::string note;     // why not the decoder asked for, when another one ran
  // The graph decoder: how the CUDA graphs that ran the steps came to be, the costliest way of
  // this decode: "captured" (instantiated), "updated" (captured again into the instantiation
  // an earlier decode of the same shape left), "reused" (replayed as they were); empty when
  // no graph ran.
  std::string graphs;
};

// What every engine holds: one model's weights, in the flat PyTorch layout of
// parameter_layout(config) on the host side, and the recurrent state of `batch()` streams. A
// GPU engine's public calls run on its GPU and leave the caller's current device as it was.
class ModelEngine {
 public:
  virtual ~ModelEngine() = default;
  ModelEngine(const ModelEngine&) = delete;
  ModelEngine& operator=(const ModelEngine&) = delete;

  const std::string& name() const { return name_; }
  const ModelConfig& config() const { return config_; }
  int batch() const { return batch_; }

  // The CUDA device this engine runs on; -1 on the CPU.
  virtual int gpu() const { return -1; }

  void set_parameters(const std::vector<float>& flat);
  std::vector<float> parameters() const;
  // layers x batch x hidden values, layer-major; an empty h or c means zeros.
  void set_state(const RecurrentState& state);
  RecurrentState state() const;

  // Diagnostics: seconds that `work` takes on this engine's device, its queued work included
  // (a wall clock on the CPU, CUDA events on a GPU stream).
  virtual double time_seconds(const std::function<void()>& work);

 protected:
  // Validates `config`; starts from a zero state of one stream.
  ModelEngine(std::string name, const ModelConfig& config);
  // Throws unless every id is in the vocabulary; `what` names them in the message.
  void check_ids(const std::vector<int>& ids, const char* what) const;

  virtual void write_parameters(const std::vector<float>& flat) = 0;
  virtual std::vector<float> read_parameters() const = 0;
  // `state` is complete: h (and c, for a cell with one) of layers x batch x hidden values.
  virtual void write_state(const RecurrentState& state) = 0;
  virtual RecurrentState read_state() const = 0;

 private:
  std::string name_;
  ModelConfig config_;
  int batch_ = 1;
};

// Training and evaluation on windows of `batch()` streams (set_state sets the batch); the
// state carries over from window to window.
class TrainingEngine : public ModelEngine {
 public:
  // Forward and backward, the gradients averaged by `reducer` (when there is one: a
  // data-parallel run), then clipping and the optimizer step; the window's mean cross-entropy
  // when options.read_loss.
  std::optional<double> train_step(const TokenWindow& window, const TrainStepOptions& options,
                                   GradientReducer* reducer = nullptr);
  // The sum of the window's cross-entropy (nats), no dropout.
  double eval_window(const TokenWindow& window);
  OptimizerState optimizer_state() const;
  void set_optimizer_state(const OptimizerState& state);

  // Diagnostics: forward and backward, no dropout and no update; the mean cross-entropy, and
  // its gradient with respect to every parameter in the flat PyTorch layout.
  double compute_gradients(const TokenWindow& window, std::vector<float>& gradients);

 protected:
  using ModelEngine::ModelEngine;
  // A training step in three parts. Forward (with options' dropout), loss and backward: the
  // gradient of the window's mean loss in gradient_buffer(), the state advanced.
  virtual void run_backward(const TokenWindow& window, const TrainStepOptions& options) = 0;
  virtual GradientBuffer gradient_buffer() = 0;
  // Clipping and the optimizer step, from gradient_buffer().
  virtual void run_update(const TrainStepOptions& options) = 0;
  // The mean loss of run_backward's window (a GPU engine waits for it).
  virtual double read_step_loss() = 0;
  virtual double run_eval_window(const TokenWindow& window) = 0;
  virtual double run_gradients(const TokenWindow& window, std::vector<float>& gradients) = 0;
  virtual OptimizerState read_optimizer_state() const = 0;
  // Moments empty or of parameter_count(config) values each.
  virtual void write_optimizer_state(const OptimizerState& state) = 0;

 private:
  void check_window(const TokenWindow& window) const;
};

// Generation: prompts through the model once, then token by token on the engine's device.
class DecodingEngine : public ModelEngine {
 public:
  // Runs `batch()` equal-length prompts ([b * length + t]) from the current state and writes
  // the logits after each prompt's last token into logits ([b * V + v]).
  void prefill(const std::vector<int>& prompts, std::vector<float>& logits);
  // Continuous batching: runs prompts[k] through slot slots[k] (a stream of the batch), from a
  // zero state when `fresh` (a new stream) or else from the slot's own, and writes the logits
  // after its last token to logits [k * V + v]; the other slots keep their state. Prompts may
  // differ in length. (Through the host: the state is read, and each length's slots prefilled
  // as a batch of their own; the GPU engines have no device-side gather yet.)
  void prefill_slots(const std::vector<int>& slots, const std::vector<std::vector<int>>& prompts, bool fresh,
                     std::vector<float>& logits);
  // Draws `length` tokens for each of the `batch()` streams, starting from `logits` (as prefill
  // returns them) and the current state, each token fed back as the next input. Stream s draws
  // as streams[s] says, its t-th token at streams[s].position + t, so its text does not depend
  // on the batch it runs in (sampling.seed is not used). on_tokens(first_position, positions,
  // ids) receives ids [positions][batch] in order, in chunks, and may end the loop by returning
  // false; the state may then have run up to one chunk past the last ids delivered.
  DecodeStats decode(const std::vector<float>& logits, int length, const std::vector<StreamDraw>& streams,
                     const TokenChunkCallback& on_tokens);
  // Every stream with the same options, from position 0.
  DecodeStats decode(const std::vector<float>& logits, int length, const SamplingOptions& sampling,
                     const std::vector<DrawKey>& keys, const TokenChunkCallback& on_tokens) {
    return decode(logits, length, same_draws(sampling, keys), on_tokens);
  }

  // Whether search_beams runs here: the GPU engines search on their device, step after step
  // with no host round trip; for the CPU engine, beam_search (src/api) runs its own loop.
  virtual bool searches_beams() const { return false; }
  // Runs `plan`'s beam searches from the current state (batch() = the sum of their widths, each
  // at most kMaxDeviceBeamWidth) and returns what they chose. The state is then unspecified.
  BeamTrace search_beams(const BeamPlan& plan);

 protected:
  using ModelEngine::ModelEngine;
  // `plan` is valid; only called where searches_beams().
  virtual BeamTrace run_beam_search(const BeamPlan& plan);
  virtual void run_prefill(const std::vector<int>& prompts, int length, std::vector<float>& logits) = 0;
  virtual DecodeStats run_decode(const std::vector<float>& logits, int length, const std::vector<StreamDraw>& streams,
                                 const TokenChunkCallback& on_tokens) = 0;
};

// Diagnostics: an engine's sampler alone, for the benchmark. load_logits keeps [stream][vocab]
// logits on the engine's device; each draw then draws one token per stream, as its StreamDraw
// says, and leaves the ids there.
class TokenSampler {
 public:
  virtual ~TokenSampler() = default;
  // As ModelEngine::gpu.
  virtual int gpu() const { return -1; }
  void load_logits(const std::vector<float>& logits, int streams);
  void draw(const std::vector<StreamDraw>& streams);
  void draw(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) {
    draw(same_draws(sampling, keys, position));
  }
  // As ModelEngine::time_seconds.
  virtual double time_seconds(const std::function<void()>& work);

 protected:
  int streams() const { return streams_; }
  int vocab() const { return vocab_; }
  virtual void write_logits(const std::vector<float>& logits) = 0;
  virtual void run_draw(const std::vector<StreamDraw>& streams) = 0;

 private:
  int streams_ = 0, vocab_ = 0;
};

// Seconds of wall-clock time that `work` takes.
double wall_clock_seconds(const std::function<void()>& work);

}  // namespace genrnn
