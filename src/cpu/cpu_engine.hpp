#pragma once
#include "cpu/network.hpp"
#include "engine/engine.hpp"

namespace genrnn {

// The reference engine and the fallback where no GPU is usable: float32, OpenBLAS GEMMs.
class CpuEngine final : public Engine {
 public:
  explicit CpuEngine(const ModelConfig& config) : network_(config) {}

  std::string name() const override { return "cpu"; }
  void set_parameters(const std::vector<float>& flat) override;
  std::vector<float> parameters() const override { return network_.parameters(); }
  void set_state(const RecurrentState& state) override { network_.set_state(state); }
  RecurrentState state() const override { return network_.state(); }
  double compute_gradients(const TokenWindow& window, std::vector<float>& gradients) override;
  std::optional<double> train_step(const TokenWindow& window, const TrainStepOptions& options) override;
  OptimizerState optimizer_state() const override { return optimizer_; }
  void set_optimizer_state(const OptimizerState& state) override;
  double eval_window(const TokenWindow& window) override;
  void prefill(const std::vector<int>& prompts, int batch, std::vector<float>& logits) override;
  void step(const std::vector<int>& ids, std::vector<float>& logits) override;
  void load_logits(const std::vector<float>& logits, int streams) override;
  void draw_tokens(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) override;

 private:
  // Forward with dropout, loss and backward; the mean loss.
  double forward_backward(const TokenWindow& window, const cpu::DropoutSpec& dropout);

  cpu::CpuNetwork<float> network_;
  OptimizerState optimizer_;
  std::vector<float> loaded_logits_;  // load_logits / draw_tokens
  std::vector<int> drawn_;
};

}  // namespace genrnn
