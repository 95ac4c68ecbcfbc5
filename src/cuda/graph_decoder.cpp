#include "cuda/graph_decoder.hpp"

#include <array>

#include "core/nvtx_range.hpp"
#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

// Plain launches before the first capture: the first step from the prompt's logits, then one
// step of each state parity, so every buffer has grown to its size before it is captured.
constexpr int kPlainSteps = 3;

}  // namespace

GraphDecoder::GraphDecoder(const std::string& name, const ModelConfig& config, GpuLayers layers, bool tf32,
                           bool cuda_graphs)
    : GpuRole(name, config, layers, tf32),
      sampler_(model_.context()),
      ring_(model_.context().stream()),
      logits_(model_.context().stream()),
      step_ids_(model_.context().stream()),
      cuda_graphs_(cuda_graphs) {}

void GraphDecoder::run_prefill(const std::vector<int>& prompts, int length, std::vector<float>& logits) {
  NvtxRange range("prefill");
  const int streams = batch();
  model_.upload_window(prompts, nullptr, length);
  model_.forward(model_.ids(), length, false, {});
  model_.advance_state();
  // Time-major: the last position's rows are the last `streams` rows of the outputs.
  const float* last = model_.layers().outputs() + static_cast<std::size_t>(length - 1) * streams * config().hidden_size;
  logits_.reserve(logits.size());
  model_.head(last, streams, logits_.data(), true);
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits.data(), logits_.data(), logits.size() * sizeof(float),
                                    cudaMemcpyDeviceToHost, model_.context().stream()));
  model_.context().synchronize();
}

void GraphDecoder::step(const SamplingOptions& sampling) {
  model_.forward(step_ids_.data(), 1, false, {});
  model_.head(model_.layers().outputs(), batch(), logits_.data(), true);
  sampler_.draw(logits_.data(), config().vocab_size, sampling, step_ids_.data());
}

void GraphDecoder::start_decode(const std::vector<float>& first_logits, const std::vector<DrawKey>& keys) {
  logits_.reserve(first_logits.size());
  // From pageable memory: staged before this returns.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits_.data(), first_logits.data(), first_logits.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, model_.context().stream()));
  sampler_.set_keys(keys, 0);
  ring_.start(batch());
}

DecodeStats GraphDecoder::run_decode(const std::vector<float>& first_logits, int length,
                                     const SamplingOptions& sampling, const std::vector<DrawKey>& keys,
                                     const TokenChunkCallback& on_tokens) {
  NvtxRange range("decode");
  const cudaStream_t stream = model_.context().stream();
  start_decode(first_logits, keys);
  step_ids_.reserve(static_cast<std::size_t>(batch()));
  std::array<std::optional<CapturedGraph>, 2> replays;  // per state parity
  DecodeStats stats;
  bool wanted = true;  // the caller still wants tokens
  for (int position = 0; position < length && wanted; ++position) {
    if (position == 0) {
      sampler_.draw(logits_.data(), config().vocab_size, sampling, step_ids_.data());
    } else {
      std::optional<CapturedGraph>& replay = replays[model_.state_parity()];
      if (cuda_graphs_ && !replay && position >= kPlainSteps) {
        try {
          replay = CapturedGraph::capture(stream, [&] { step(sampling); });
        } catch (const Error& e) {
          throw Error(std::string("capturing a decode step as a CUDA graph failed: ") + e.what() +
                      " (EngineOptions::cuda_graphs = false, or GENRNN_CUDA_GRAPHS=0 for gen_cuda, decodes with "
                      "plain launches)");
        }
      }
      if (replay) {
        replay->replay(stream);
        stats.graph_replayed = true;
      } else {
        step(sampling);
      }
      model_.advance_state();
    }
    if (ring_.append(step_ids_.data()) || position + 1 == length) wanted = ring_.hand_over(on_tokens);
  }
  if (wanted) ring_.finish(on_tokens);
  model_.context().synchronize();  // the last chunk's work may still run when the caller ended early
  stats.decoder = "graph";
  return stats;
}

}  // namespace genrnn::cuda
