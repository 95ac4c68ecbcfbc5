#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/corpus.hpp"
#include "genrnn/config.hpp"
#include "genrnn/sampling.hpp"
#include "genrnn/state.hpp"
#include "genrnn/trainer.hpp"

namespace genrnn {

struct TrainStepOptions {
  Optimizer optimizer = Optimizer::adam;
  float learning_rate = 2e-3f;
  float clip = 5.0f;  // global gradient norm; 0: off
  float dropout = 0.0f;
  uint64_t dropout_seed = 0;  // masks are drawn by Philox from (dropout_seed, step)
  bool read_loss = true;      // GPU engines read the loss back only when asked
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

// Receives drawn ids [positions][batch]; returns false to end decoding early.
using TokenChunkCallback = std::function<bool(int first_position, int positions, const int* ids)>;

// One model's weights on one device and the numeric work on them. Everything around it
// (tokenizing, batching, logging, checkpoints, the CLI) is shared and engine-agnostic.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;

  // Weights in the flat PyTorch layout of parameter_layout(config).
  virtual void set_parameters(const std::vector<float>& flat) = 0;
  virtual std::vector<float> parameters() const = 0;

  // The state the next window or token starts from; an empty h/c means zeros for `batch` streams.
  virtual void set_state(const RecurrentState& state) = 0;
  virtual RecurrentState state() const = 0;

  // Forward and backward on one window, no update: the mean cross-entropy, and its gradient
  // with respect to every parameter in the flat PyTorch layout. The state carries over.
  virtual double compute_gradients(const TokenWindow& window, std::vector<float>& gradients) = 0;
  // Forward, backward, clipping and the optimizer step on one window; the state carries over.
  // Returns the window's mean cross-entropy when options.read_loss.
  virtual std::optional<double> train_step(const TokenWindow& window,
                                           const TrainStepOptions& options) = 0;
  virtual OptimizerState optimizer_state() const = 0;
  virtual void set_optimizer_state(const OptimizerState& state) = 0;

  // Sum of the window's cross-entropy (nats), no dropout; the state carries over.
  virtual double eval_window(const TokenWindow& window) = 0;

  // Runs `batch` equal-length prompts ([b * length + t]) from the current state and writes the
  // logits after each prompt's last token into logits ([b * V + v]).
  virtual void prefill(const std::vector<int>& prompts, int batch, std::vector<float>& logits) = 0;
  // One token per stream in, the next logits out.
  virtual void step(const std::vector<int>& ids, std::vector<float>& logits) = 0;

  // Draws `length` tokens for each stream, starting from `logits` ([stream][vocab], as prefill
  // returns them) and the current state, each token fed back as the next input. Stream s draws
  // with Philox keyed by (keys[s].seed, keys[s].stream, position), so its text does not depend
  // on the batch it runs in (sampling.seed is not used). on_tokens(first_position, positions, ids) receives ids [positions][batch] in
  // order, in chunks, and may end the loop by returning false; the recurrent state may then
  // have run up to one chunk past the last ids delivered. The default runs step() and the CPU
  // sampler; GPU engines keep the whole loop on the device.
  virtual void decode(const std::vector<float>& logits, int length, const SamplingOptions& sampling,
                      const std::vector<DrawKey>& keys, const TokenChunkCallback& on_tokens);

  // The sampler alone, for benchmarks: load_logits keeps [stream][vocab] logits on the engine's
  // device; each draw_tokens then draws one token per stream at `position` and leaves the ids
  // there.
  virtual void load_logits(const std::vector<float>& logits, int streams) = 0;
  virtual void draw_tokens(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) = 0;

  // Seconds `work` takes on this engine's device, all of its queued work included: a wall
  // clock on the CPU, CUDA events on a GPU stream.
  virtual double time_seconds(const std::function<void()>& work);
};

// Seconds of wall-clock time that `work` takes.
double wall_clock_seconds(const std::function<void()>& work);

// "cpu" or "cudnn". `tf32` lets the GPU engines use TF32 tensor cores for float32 products.
std::unique_ptr<Engine> make_engine(const std::string& engine, const ModelConfig& config, bool tf32 = false);

}  // namespace genrnn
