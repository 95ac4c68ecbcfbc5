#pragma once
// The CPU engine's roles: the reference every other engine is checked against, and the
// fallback where no GPU is usable. float32, oneDNN or OpenBLAS products
// (src/cpu/matrix_products), the shared layer driver.
#include "cpu/network.hpp"
#include "engine/engine.hpp"
#include "engine/engine_registry.hpp"

namespace genrnn::cpu {

// A role over one CpuNetwork<float>: weights and state live in the network.
template <class Role>
class CpuModel : public Role {
 protected:
  explicit CpuModel(const ModelConfig& config) : Role("cpu", config), network_(config) {}
  void write_parameters(const std::vector<float>& flat) override { network_.parameters() = flat; }
  std::vector<float> read_parameters() const override { return network_.parameters(); }
  void write_state(const RecurrentState& state) override { network_.set_state(state); }
  RecurrentState read_state() const override { return network_.state(); }

  CpuNetwork<float> network_;
};

class CpuTrainingEngine final : public CpuModel<TrainingEngine> {
 public:
  explicit CpuTrainingEngine(const ModelConfig& config) : CpuModel(config) {}

 protected:
  void run_backward(const TokenWindow& window, const TrainStepOptions& options) override;
  GradientBuffer gradient_buffer() override;
  void run_update(const TrainStepOptions& options) override;
  double read_step_loss() override { return step_loss_; }
  double run_eval_window(const TokenWindow& window) override;
  double run_gradients(const TokenWindow& window, std::vector<float>& gradients) override;
  OptimizerState read_optimizer_state() const override { return optimizer_; }
  void write_optimizer_state(const OptimizerState& state) override { optimizer_ = state; }

 private:
  // Forward (with these dropout masks), loss and backward; the mean loss.
  double forward_backward(const TokenWindow& window, const math::DropoutMask& dropout);

  OptimizerState optimizer_;
  double step_loss_ = 0;  // of the last run_backward
};

// Decoding on the host: each step is a one-token forward, each draw the CPU sampler.
class CpuDecoder final : public CpuModel<DecodingEngine> {
 public:
  explicit CpuDecoder(const ModelConfig& config) : CpuModel(config) {}

 protected:
  void run_prefill(const std::vector<int>& prompts, int length, std::vector<float>& logits) override;
  DecodeStats run_decode(const std::vector<float>& logits, int length, const std::vector<StreamDraw>& streams,
                         const TokenChunkCallback& on_tokens) override;
};

// ids[s] = the token stream s draws from its row of `logits` ([stream][vocab]), `advance`
// draws past streams[s].position.
void draw_streams(const float* logits, int vocab, const std::vector<StreamDraw>& streams, uint64_t advance, int* ids);

class CpuSampler final : public TokenSampler {
 protected:
  void write_logits(const std::vector<float>& logits) override { logits_ = logits; }
  void run_draw(const std::vector<StreamDraw>& streams) override;

 private:
  std::vector<float> logits_;
  std::vector<int> drawn_;
};

}  // namespace genrnn::cpu

namespace genrnn {

// The registry's way to make the CPU engine's roles.
EngineFactories cpu_engine_factories();

}  // namespace genrnn
