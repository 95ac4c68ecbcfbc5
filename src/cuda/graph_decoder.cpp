#include "cuda/graph_decoder.hpp"

#include <algorithm>

#include "core/nvtx_range.hpp"
#include "cuda/device_beam_search.hpp"
#include "genrnn/error.hpp"

namespace genrnn::cuda {

namespace {

// Plain launches before a capture: the first step from the prompt's logits, then one step of
// each state parity, so every buffer has grown to its size before it is captured.
constexpr int kPlainSteps = 3;

}  // namespace

bool GraphDecoder::StepKey::operator==(const StepKey& other) const {
  return streams == other.streams && allocations == other.allocations;
}

GraphDecoder::GraphDecoder(const std::string& name, const ModelConfig& config, GpuLayers layers,
                           const EngineOptions& options)
    : GpuRole(name, config, layers, options),
      sampler_(model_.context()),
      ring_(model_.context().stream()),
      logits_(model_.context().stream()),
      step_ids_(model_.context().stream()),
      cuda_graphs_(options.cuda_graphs) {}

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

void GraphDecoder::step() {
  model_.forward(step_ids_.data(), 1, false, {});
  model_.head(model_.layers().outputs(), batch(), logits_.data(), true);
  sampler_.draw(logits_.data(), config().vocab_size, step_ids_.data());
}

GraphDecoder::StepKey GraphDecoder::step_key() const { return {batch(), device_allocations()}; }

GraphDecoder::GraphSource GraphDecoder::replay_step(const StepKey& key) {
  const cudaStream_t stream = model_.context().stream();
  StepGraph& cached = step_graphs_[model_.state_parity()];
  GraphSource source = GraphSource::reused;
  if (!cached.graph || !(cached.key == key)) {
    try {
      const auto work = [&] { step(); };
      if (cached.graph) {
        source = cached.graph->recapture(stream, work) ? GraphSource::updated : GraphSource::captured;
      } else {
        cached.graph = CapturedGraph::capture(stream, work);
        source = GraphSource::captured;
      }
    } catch (const Error& e) {
      throw capture_failure("a decode step", e);
    }
    cached.key = key;
  }
  cached.graph->replay(stream);
  return source;
}

void GraphDecoder::start_decode(const std::vector<float>& first_logits, const std::vector<StreamDraw>& streams) {
  logits_.reserve(first_logits.size());
  // From pageable memory: staged before this returns.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits_.data(), first_logits.data(), first_logits.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, model_.context().stream()));
  sampler_.set_streams(streams);
  ring_.start(batch());
}

DecodeStats GraphDecoder::run_decode(const std::vector<float>& first_logits, int length,
                                     const std::vector<StreamDraw>& streams, const TokenChunkCallback& on_tokens) {
  NvtxRange range("decode");
  start_decode(first_logits, streams);
  step_ids_.reserve(static_cast<std::size_t>(batch()));
  GraphSource graphs = GraphSource::none;  // the costliest of this decode's
  bool wanted = true;                      // the caller still wants tokens
  for (int position = 0; position < length && wanted; ++position) {
    if (position == 0) {
      sampler_.draw(logits_.data(), config().vocab_size, step_ids_.data());
    } else {
      // A step graph an earlier decode left runs at once where nothing it depends on changed.
      const StepKey key = step_key();
      const StepGraph& cached = step_graphs_[model_.state_parity()];
      if (cuda_graphs_ && ((cached.graph && cached.key == key) || position >= kPlainSteps))
        graphs = std::max(graphs, replay_step(key));
      else
        step();
      model_.advance_state();
    }
    if (ring_.append(step_ids_.data()) || position + 1 == length) wanted = ring_.hand_over(on_tokens);
  }
  if (wanted) ring_.finish(on_tokens);
  model_.context().synchronize();  // the last chunk's work may still run when the caller ended early
  constexpr const char* kGraphSources[] = {"", "reused", "updated", "captured"};  // as GraphSource
  return {"graph", "", kGraphSources[static_cast<int>(graphs)]};
}

BeamTrace GraphDecoder::run_beam_search(const BeamPlan& plan) {
  return search_beams_on_device(model_, plan, cuda_graphs_);
}

}  // namespace genrnn::cuda
