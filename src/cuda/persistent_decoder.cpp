#include "cuda/persistent_decoder.hpp"

#include <algorithm>
#include <numeric>

#include "core/nvtx_range.hpp"
#include "cuda/row_major_gemm.hpp"
#include "genrnn/error.hpp"
#include "kernels/ops.hpp"

namespace genrnn::cuda {

PersistentDecoder::PersistentDecoder(const std::string& name, const ModelConfig& config, GpuLayers layers,
                                     const EngineOptions& options)
    : GraphDecoder(name, config, layers, options),
      offsets_(parameter_offsets(config)),
      weights_(model_.context().stream()),
      input_table_(model_.context().stream()),
      next_ids_(model_.context().stream()) {}

void PersistentDecoder::write_parameters(const std::vector<float>& flat) {
  GraphDecoder::write_parameters(flat);
  const cudaStream_t stream = model_.context().stream();
  weights_.reserve(flat.size());
  GENRNN_CUDA_CHECK(
      cudaMemcpyAsync(weights_.data(), flat.data(), flat.size() * sizeof(float), cudaMemcpyHostToDevice, stream));
  // Layer 0's input projection of every token: a column of W_ih for one-hot input, W_ih times
  // the token's embedding otherwise; b_ih_0 included.
  const int V = config().vocab_size, E = config().embedding_dim, GH = config().gate_count() * config().hidden_size;
  const LayerOffsets& first = offsets_.layers[0];
  input_table_.reserve(static_cast<std::size_t>(V) * GH);
  if (E == 0) {
    DeviceBuffer<int> vocabulary(static_cast<std::size_t>(V), stream);
    std::vector<int> ids(static_cast<std::size_t>(V));
    std::iota(ids.begin(), ids.end(), 0);
    GENRNN_CUDA_CHECK(
        cudaMemcpyAsync(vocabulary.data(), ids.data(), ids.size() * sizeof(int), cudaMemcpyHostToDevice, stream));
    kernels::gather_columns(weights_.data() + first.weight_ih(), V, weights_.data() + first.bias_ih(),
                            vocabulary.data(), V, GH, input_table_.data(), stream);
    model_.context().synchronize();  // `ids` and `vocabulary` go away here
  } else {
    gemm_row_major(model_.context().cublas(), false, true, V, GH, E, 1.0f, weights_.data() + offsets_.embedding, E,
                   weights_.data() + first.weight_ih(), E, 0.0f, input_table_.data(), GH);
    kernels::add_bias_rows(input_table_.data(), weights_.data() + first.bias_ih(), V, GH, stream);
    model_.context().synchronize();  // `flat` may go away once this returns
  }
}

kernels::PersistentShape PersistentDecoder::shape_for(int batch, std::string& why) const {
  const cudaDeviceProp& gpu = model_.context().properties();
  if (!gpu.cooperativeLaunch) {
    why = "this GPU has no cooperative launches";
    return {};
  }
  return kernels::persistent_shape(config().cell, config().num_layers, config().hidden_size, batch,
                                   gpu.multiProcessorCount, gpu.sharedMemPerBlockOptin, why);
}

kernels::PersistentModel PersistentDecoder::device_model() const {
  kernels::PersistentModel model;
  model.layers = config().num_layers;
  model.hidden = config().hidden_size;
  model.vocab = config().vocab_size;
  model.input_table = input_table_.data();
  const float* base = weights_.data();
  for (int l = 0; l < model.layers; ++l) {
    const LayerOffsets& layer = offsets_.layers[l];
    model.weight_ih[l] = base + layer.weight_ih();
    model.weight_hh[l] = base + layer.weight_hh();
    model.bias_ih[l] = base + layer.bias_ih();
    model.bias_hh[l] = base + layer.bias_hh();
  }
  model.head_weight = base + offsets_.head_weight;
  model.head_bias = base + offsets_.head_bias;
  return model;
}

DecodeStats PersistentDecoder::run_decode(const std::vector<float>& first_logits, int length,
                                          const std::vector<StreamDraw>& streams, const TokenChunkCallback& on_tokens) {
  std::string why;
  const kernels::PersistentShape shape = shape_for(batch(), why);
  if (shape.blocks == 0) return decode_as_graph_decoder(first_logits, length, streams, on_tokens, why);
  NvtxRange range("decode");
  const cudaStream_t stream = model_.context().stream();
  start_decode(first_logits, streams);
  next_ids_.reserve(static_cast<std::size_t>(batch()));
  const kernels::PersistentModel model = device_model();
  bool wanted = true;
  for (int first = 0; first < length && wanted; first += IdRing::kChunkPositions) {
    kernels::PersistentStep step;
    step.h[0] = model_.state_h(0), step.h[1] = model_.state_h(1);
    step.c[0] = model_.state_c(0), step.c[1] = model_.state_c(1);
    step.parity = model_.state_parity();
    step.logits = logits_.data();
    step.next_ids = next_ids_.data();
    step.positions = std::min(IdRing::kChunkPositions, length - first);
    step.ids = ring_.fill(step.positions);
    step.options = sampler_.options();
    step.seeds = sampler_.seeds();
    step.stream_ids = sampler_.stream_ids();
    step.steps = sampler_.counters();
    step.batch = batch();
    step.first_position = first;
    if (!kernels::persistent_decode(config().cell, model, shape, step, stream)) {
      // Every launch is the same grid: only the first can find that it does not fit, before
      // anything was drawn.
      if (first > 0) throw Error("the persistent decoder's grid stopped fitting on the GPU in the middle of a decode");
      return decode_as_graph_decoder(first_logits, length, streams, on_tokens,
                                     "its grid does not fit on this GPU at once (is the GPU shared with other "
                                     "processes, through MPS or a partition?)");
    }
    // Each position after the very first stepped the state once: the parity flips that often.
    if ((step.positions - (first == 0 ? 1 : 0)) % 2 == 1) model_.advance_state();
    wanted = ring_.hand_over(on_tokens);
  }
  if (wanted) ring_.finish(on_tokens);
  model_.context().synchronize();  // the last chunk's work may still run when the caller ended early
  return {"persistent", "", ""};
}

DecodeStats PersistentDecoder::decode_as_graph_decoder(const std::vector<float>& first_logits, int length,
                                                       const std::vector<StreamDraw>& streams,
                                                       const TokenChunkCallback& on_tokens, const std::string& why) {
  DecodeStats stats = GraphDecoder::run_decode(first_logits, length, streams, on_tokens);
  stats.note = "the persistent decoder does not run here: " + why;
  return stats;
}

}  // namespace genrnn::cuda
