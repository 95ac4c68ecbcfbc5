#include "cpu/cpu_engine.hpp"

#include "cpu/optimizer.hpp"

namespace genrnn {

void CpuEngine::set_parameters(const std::vector<float>& flat) {
  if (flat.size() != network_.parameters().size())
    throw Error("expected " + std::to_string(network_.parameters().size()) + " parameters, got " +
                std::to_string(flat.size()));
  network_.parameters() = flat;
}

double CpuEngine::forward_backward(const TokenWindow& window, const cpu::DropoutSpec& dropout) {
  network_.forward(window.inputs.data(), window.batch, window.seq_len, dropout);
  const double tokens = static_cast<double>(window.batch) * window.seq_len;
  const double loss = network_.loss(window.targets.data()) / tokens;
  network_.backward(window.targets.data(), static_cast<float>(1.0 / tokens));
  return loss;
}

double CpuEngine::compute_gradients(const TokenWindow& window, std::vector<float>& gradients) {
  const double loss = forward_backward(window, {});
  gradients = network_.gradients();
  return loss;
}

std::optional<double> CpuEngine::train_step(const TokenWindow& window, const TrainStepOptions& options) {
  const double loss = forward_backward(
      window, {options.dropout, options.dropout_seed, static_cast<uint64_t>(optimizer_.step)});
  cpu::clip_gradients(network_.gradients(), options.clip);
  cpu::apply_optimizer(network_.parameters(), network_.gradients(), optimizer_, options);
  return loss;
}

void CpuEngine::set_optimizer_state(const OptimizerState& state) {
  const auto n = network_.parameters().size();
  if ((!state.m.empty() && state.m.size() != n) || state.m.size() != state.v.size())
    throw Error("the optimizer state does not match the model's " + std::to_string(n) + " parameters");
  optimizer_ = state;
}

double CpuEngine::eval_window(const TokenWindow& window) {
  network_.forward(window.inputs.data(), window.batch, window.seq_len);
  return network_.loss(window.targets.data());
}

void CpuEngine::prefill(const std::vector<int>& prompts, int batch, std::vector<float>& logits) {
  if (batch < 1 || prompts.empty() || prompts.size() % batch != 0)
    throw Error("prefill needs `batch` prompts of one length");
  network_.forward(prompts.data(), batch, static_cast<int>(prompts.size() / batch));
  logits.resize(static_cast<std::size_t>(batch) * network_.config().vocab_size);
  network_.last_logits(logits.data());
}

void CpuEngine::load_logits(const std::vector<float>& logits, int streams) {
  if (streams < 1 || logits.size() % static_cast<std::size_t>(streams) != 0)
    throw Error("load_logits needs [streams][vocab] logits");
  loaded_logits_ = logits;
  drawn_.assign(static_cast<std::size_t>(streams), 0);
}

void CpuEngine::draw_tokens(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) {
  if (keys.size() != drawn_.size()) throw Error("draw_tokens needs one key per loaded stream");
  const int vocab = static_cast<int>(loaded_logits_.size() / drawn_.size());
  SamplingOptions options = sampling;
  for (std::size_t s = 0; s < keys.size(); ++s) {
    options.seed = keys[s].seed;
    drawn_[s] = sample_token(loaded_logits_.data() + s * vocab, vocab, options, keys[s].stream, position);
  }
}

void CpuEngine::step(const std::vector<int>& ids, std::vector<float>& logits) {
  prefill(ids, static_cast<int>(ids.size()), logits);
}

}  // namespace genrnn
