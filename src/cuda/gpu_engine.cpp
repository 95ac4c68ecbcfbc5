#include "cuda/gpu_engine.hpp"

#include "cuda/cudnn_rnn.hpp"
#include "cuda/fused_rnn.hpp"

#include <cmath>
#include <cstdlib>

#include "core/nvtx_range.hpp"
#include "cuda/row_major_gemm.hpp"
#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"
#include "kernels/ops.hpp"
#include "kernels/sampling_ops.hpp"

namespace genrnn::cuda {

namespace {

// Device offsets after the weight space start on a 256-byte boundary, like cudaMalloc's.
std::size_t aligned(std::size_t floats) { return (floats + 63) / 64 * 64; }

std::unique_ptr<RecurrentLayers> make_layers(const std::string& kind, const DeviceContext& context,
                                             const ModelConfig& config) {
  if (kind == "cudnn") return std::make_unique<CudnnRnn>(context, config);
  if (kind == "fused") return std::make_unique<FusedRnn>(context, config);
  throw Error("unknown recurrent layers '" + kind + "'");
}

}  // namespace

GpuEngine::GpuEngine(const ModelConfig& config, const std::string& layers, bool tf32)
    // Validated before cuDNN or cuBLAS sees it, so a bad shape is a clear error, not theirs.
    : config_((config.validate(), config)), context_(tf32), layers_(make_layers(layers, context_, config)) {
  const auto V = static_cast<std::size_t>(config.vocab_size), E = static_cast<std::size_t>(config.embedding_dim),
             H = static_cast<std::size_t>(config.hidden_size);
  embedding_offset_ = aligned(layers_->weight_floats());
  head_weight_offset_ = aligned(embedding_offset_ + V * E);
  head_bias_offset_ = aligned(head_weight_offset_ + V * H);
  device_floats_ = aligned(head_bias_offset_ + V);
  params_.reserve(device_floats_);
  gradients_.reserve(device_floats_);
  GENRNN_CUDA_CHECK(cudaMemsetAsync(params_.data(), 0, device_floats_ * sizeof(float), context_.stream()));
  GENRNN_CUDA_CHECK(cudaMemsetAsync(gradients_.data(), 0, device_floats_ * sizeof(float), context_.stream()));
  clip_scratch_.reserve(kernels::clip_scratch_floats(device_floats_));
  loss_sum_.reserve(1);
  staged_loss_.reserve(1);

  segments_ = layers_->weight_segments(params_.data());
  const auto layout = parameter_layout(config);
  if (E > 0) segments_.push_back({find_tensor(layout, "embedding.weight").offset, embedding_offset_, V * E});
  segments_.push_back({find_tensor(layout, "head.weight").offset, head_weight_offset_, V * H});
  segments_.push_back({find_tensor(layout, "head.bias").offset, head_bias_offset_, V});
  std::size_t covered = 0;
  for (const auto& segment : segments_) covered += segment.count;
  if (covered != parameter_count(config))
    throw Error("the cuDNN weight mapping covers " + std::to_string(covered) + " of " +
                std::to_string(parameter_count(config)) + " parameters");
  set_state({1, {}, {}});
}

void GpuEngine::upload_torch_layout(const std::vector<float>& flat, float* device) const {
  for (const auto& s : segments_)
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(device + s.device_offset, flat.data() + s.torch_offset, s.count * sizeof(float),
                                      cudaMemcpyHostToDevice, context_.stream()));
  context_.synchronize();  // `flat` may go away once this returns
}

std::vector<float> GpuEngine::download_torch_layout(const float* device) const {
  std::vector<float> flat(parameter_count(config_));
  for (const auto& s : segments_)
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(flat.data() + s.torch_offset, device + s.device_offset, s.count * sizeof(float),
                                      cudaMemcpyDeviceToHost, context_.stream()));
  context_.synchronize();
  return flat;
}

void GpuEngine::set_parameters(const std::vector<float>& flat) {
  if (flat.size() != parameter_count(config_))
    throw Error("expected " + std::to_string(parameter_count(config_)) + " parameters, got " + std::to_string(flat.size()));
  upload_torch_layout(flat, params_.data());
}

std::vector<float> GpuEngine::parameters() const { return download_torch_layout(params_.data()); }

std::size_t GpuEngine::state_size() const {
  return static_cast<std::size_t>(config_.num_layers) * state_batch_ * config_.hidden_size;
}

void GpuEngine::set_state(const RecurrentState& state) {
  if (state.batch < 1) throw Error("a recurrent state needs a batch of at least 1");
  state_batch_ = state.batch;
  const std::size_t n = state_size();
  const bool lstm = config_.cell == CellType::lstm;
  if ((!state.h.empty() && state.h.size() != n) || (!state.c.empty() && (!lstm || state.c.size() != n)))
    throw Error("the recurrent state does not have layers x batch x hidden = " + std::to_string(n) + " values");
  for (int half = 0; half < 2; ++half) {
    h_[half].reserve(n);
    c_[half].reserve(n);
  }
  current_state_ = 0;
  auto load = [&](const std::vector<float>& values, float* device) {
    if (values.empty())
      GENRNN_CUDA_CHECK(cudaMemsetAsync(device, 0, n * sizeof(float), context_.stream()));
    else
      GENRNN_CUDA_CHECK(cudaMemcpyAsync(device, values.data(), n * sizeof(float), cudaMemcpyHostToDevice, context_.stream()));
  };
  load(state.h, h_[0].data());
  load(state.c, c_[0].data());
  context_.synchronize();
}

RecurrentState GpuEngine::state() const {
  const std::size_t n = state_size();
  RecurrentState state{state_batch_, std::vector<float>(n), {}};
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(state.h.data(), h_[current_state_].data(), n * sizeof(float),
                                    cudaMemcpyDeviceToHost, context_.stream()));
  if (config_.cell == CellType::lstm) {
    state.c.resize(n);
    GENRNN_CUDA_CHECK(cudaMemcpyAsync(state.c.data(), c_[current_state_].data(), n * sizeof(float),
                                      cudaMemcpyDeviceToHost, context_.stream()));
  }
  context_.synchronize();
  return state;
}

void GpuEngine::upload_window(const std::vector<int>& inputs, const std::vector<int>& targets, int batch,
                              int seq_len, bool with_targets) {
  if (batch != state_batch_)
    throw Error("a window of " + std::to_string(batch) + " streams met a state of " + std::to_string(state_batch_));
  const auto rows = static_cast<std::size_t>(batch) * seq_len;
  if (inputs.size() != rows || targets.size() != (with_targets ? rows : 0))
    throw Error("the window's token ids do not fill batch x seq_len");
  for (const auto* ids : {&inputs, &targets})
    for (int id : *ids)
      if (id < 0 || id >= config_.vocab_size)
        throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
  batch_ = batch;
  seq_len_ = seq_len;
  ids_.reserve(rows);
  targets_.reserve(rows);
  int* stage = id_stage_.acquire(2 * rows);
  std::copy(inputs.begin(), inputs.end(), stage);
  std::copy(targets.begin(), targets.end(), stage + rows);
  // ids_ and targets_ are separate buffers: two copies out of one stage, one event after both.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(targets_.data(), stage + rows, targets.size() * sizeof(int),
                                    cudaMemcpyHostToDevice, context_.stream()));
  id_stage_.upload(ids_.data(), rows, context_.stream());
}

void GpuEngine::forward(const int* ids, bool training) {
  const auto rows = static_cast<std::size_t>(batch_) * seq_len_;
  layers_->configure(batch_, seq_len_);
  x_.reserve(rows * config_.input_size());
  y_.reserve(rows * config_.hidden_size);
  const auto n = static_cast<int>(rows);
  if (config_.embedding_dim > 0)
    kernels::embedding_gather(embedding(params_.data()), ids, n, config_.embedding_dim, x_.data(), context_.stream());
  else
    kernels::one_hot(ids, n, config_.vocab_size, x_.data(), context_.stream());
  const int next = current_state_ ^ 1;
  layers_->forward(training, x_.data(), y_.data(), h_[current_state_].data(), h_[next].data(), c_[current_state_].data(),
               c_[next].data(), params_.data());
}

void GpuEngine::head_and_loss(float gradient_scale) {
  const int rows = batch_ * seq_len_, V = config_.vocab_size, H = config_.hidden_size;
  const auto n = static_cast<std::size_t>(rows);
  logits_.reserve(n * V);
  row_losses_.reserve(n);
  gemm_row_major(context_.cublas(), false, true, rows, V, H, 1.0f, y_.data(), H, head_weight(params_.data()), H, 0.0f,
                 logits_.data(), V);
  kernels::softmax_cross_entropy(logits_.data(), head_bias(params_.data()), targets_.data(), rows, V, gradient_scale,
                                 row_losses_.data(), context_.stream());
  if (gradient_scale == 0) return;
  // logits_ now holds d loss / d logits.
  gemm_row_major(context_.cublas(), true, false, V, H, rows, 1.0f, logits_.data(), V, y_.data(), H, 0.0f,
                 head_weight(gradients_.data()), H);
  kernels::column_sums(logits_.data(), rows, V, head_bias(gradients_.data()), false, context_.stream());
  dy_.reserve(n * H);
  gemm_row_major(context_.cublas(), false, false, rows, H, V, 1.0f, logits_.data(), V, head_weight(params_.data()), H,
                 0.0f, dy_.data(), H);
}

void GpuEngine::backward_layers() {
  const auto rows = static_cast<std::size_t>(batch_) * seq_len_;
  dx_.reserve(rows * config_.input_size());
  GENRNN_CUDA_CHECK(cudaMemsetAsync(gradients_.data(), 0, layers_->weight_floats() * sizeof(float), context_.stream()));
  layers_->backward(x_.data(), y_.data(), dy_.data(), dx_.data(), h_[current_state_].data(), c_[current_state_].data(),
                params_.data(), gradients_.data());
  if (config_.embedding_dim == 0) return;  // one-hot input: cuDNN's input weights took it all
  const std::size_t table = static_cast<std::size_t>(config_.vocab_size) * config_.embedding_dim;
  GENRNN_CUDA_CHECK(cudaMemsetAsync(embedding(gradients_.data()), 0, table * sizeof(float), context_.stream()));
  kernels::embedding_scatter_add(dx_.data(), ids_.data(), static_cast<int>(rows), config_.embedding_dim,
                                 embedding(gradients_.data()), context_.stream());
}

double GpuEngine::read_loss_sum() {
  kernels::sum(row_losses_.data(), batch_ * seq_len_, loss_sum_.data(), context_.stream());
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(staged_loss_.data(), loss_sum_.data(), sizeof(double), cudaMemcpyDeviceToHost,
                                    context_.stream()));
  context_.synchronize();
  return *staged_loss_.data();
}

double GpuEngine::compute_gradients(const TokenWindow& window, std::vector<float>& gradients) {
  NvtxRange range("compute_gradients");
  layers_->set_dropout(0.0f, 0, 0);  // as the CPU engine's: no dropout
  upload_window(window.inputs, window.targets, window.batch, window.seq_len, true);
  forward(ids_.data(), true);
  const double tokens = static_cast<double>(window.batch) * window.seq_len;
  head_and_loss(static_cast<float>(1.0 / tokens));
  backward_layers();
  advance_state();
  gradients = download_torch_layout(gradients_.data());
  return read_loss_sum() / tokens;
}

std::optional<double> GpuEngine::train_step(const TokenWindow& window, const TrainStepOptions& options) {
  const double tokens = static_cast<double>(window.batch) * window.seq_len;
  {
    NvtxRange range("forward");
    layers_->set_dropout(options.dropout, options.dropout_seed, static_cast<uint64_t>(optimizer_step_));
    upload_window(window.inputs, window.targets, window.batch, window.seq_len, true);
    forward(ids_.data(), true);
    head_and_loss(static_cast<float>(1.0 / tokens));
  }
  {
    NvtxRange range("backward");
    backward_layers();
  }
  {
    NvtxRange range("optimizer");
    kernels::clip_global_norm(gradients_.data(), device_floats_, options.clip, clip_scratch_.data(), nullptr,
                              context_.stream());
    const bool adam = options.optimizer == Optimizer::adam;
    if (adam && !has_moments_) {  // Adam's moments start at zero
      adam_m_.reserve(device_floats_);
      adam_v_.reserve(device_floats_);
      GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_m_.data(), 0, device_floats_ * sizeof(float), context_.stream()));
      GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_v_.data(), 0, device_floats_ * sizeof(float), context_.stream()));
      has_moments_ = true;
    }
    ++optimizer_step_;
    if (!adam) {
      kernels::sgd_step(params_.data(), gradients_.data(), device_floats_, options.learning_rate, context_.stream());
    } else {
      kernels::adam_step(params_.data(), gradients_.data(), adam_m_.data(), adam_v_.data(), device_floats_,
                         math::adam_hyper(options.learning_rate, optimizer_step_), context_.stream());
    }
  }
  advance_state();
  if (!options.read_loss) return std::nullopt;
  return read_loss_sum() / tokens;
}

OptimizerState GpuEngine::optimizer_state() const {
  OptimizerState state{optimizer_step_, {}, {}};
  if (has_moments_) {
    state.m = download_torch_layout(adam_m_.data());
    state.v = download_torch_layout(adam_v_.data());
  }
  return state;
}

void GpuEngine::set_optimizer_state(const OptimizerState& state) {
  const std::size_t n = parameter_count(config_);
  if ((!state.m.empty() && state.m.size() != n) || state.m.size() != state.v.size())
    throw Error("the optimizer state does not match the model's " + std::to_string(n) + " parameters");
  optimizer_step_ = state.step;
  has_moments_ = !state.m.empty();
  if (!has_moments_) return;
  adam_m_.reserve(device_floats_);
  adam_v_.reserve(device_floats_);
  // Zeros first: the device layout has padding between tensors that no segment covers.
  GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_m_.data(), 0, device_floats_ * sizeof(float), context_.stream()));
  GENRNN_CUDA_CHECK(cudaMemsetAsync(adam_v_.data(), 0, device_floats_ * sizeof(float), context_.stream()));
  upload_torch_layout(state.m, adam_m_.data());
  upload_torch_layout(state.v, adam_v_.data());
}

double GpuEngine::eval_window(const TokenWindow& window) {
  NvtxRange range("eval");
  upload_window(window.inputs, window.targets, window.batch, window.seq_len, true);
  forward(ids_.data(), false);
  head_and_loss(0.0f);
  advance_state();
  return read_loss_sum();
}

void GpuEngine::prefill(const std::vector<int>& prompts, int batch, std::vector<float>& logits) {
  NvtxRange range("prefill");
  if (batch < 1 || prompts.empty() || prompts.size() % batch != 0)
    throw Error("prefill needs `batch` prompts of one length");
  const int length = static_cast<int>(prompts.size() / batch);
  upload_window(prompts, {}, batch, length, false);
  forward(ids_.data(), false);
  advance_state();
  last_position_logits();
  const int V = config_.vocab_size;
  logits.resize(static_cast<std::size_t>(batch) * V);
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits.data(), logits_.data(), logits.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                    context_.stream()));
  context_.synchronize();
}

void GpuEngine::last_position_logits() {
  // The last position of each stream: rows b * seq_len + seq_len - 1 of y, a strided matrix.
  const int V = config_.vocab_size, H = config_.hidden_size;
  logits_.reserve(static_cast<std::size_t>(batch_) * V);
  gemm_row_major(context_.cublas(), false, true, batch_, V, H, 1.0f, y_.data() + static_cast<std::size_t>(seq_len_ - 1) * H,
                 seq_len_ * H, head_weight(params_.data()), H, 0.0f, logits_.data(), V);
  kernels::add_bias_rows(logits_.data(), head_bias(params_.data()), batch_, V, context_.stream());
}

void GpuEngine::upload_draw_keys(const std::vector<DrawKey>& keys, std::size_t positions, uint64_t first_position) {
  const std::size_t streams = keys.size();
  std::vector<uint64_t> counters(2 * streams + positions * streams);
  for (std::size_t s = 0; s < streams; ++s) {
    counters[s] = keys[s].seed;
    counters[streams + s] = keys[s].stream;
  }
  for (std::size_t k = 0; k < positions * streams; ++k) counters[2 * streams + k] = first_position + k / streams;
  sampling_keys_.reserve(counters.size());
  // From pageable memory: the copy is staged before this returns, so `counters` may go.
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(sampling_keys_.data(), counters.data(), counters.size() * sizeof(uint64_t),
                                    cudaMemcpyHostToDevice, context_.stream()));
}

void GpuEngine::load_logits(const std::vector<float>& logits, int streams) {
  if (streams < 1 || logits.size() % static_cast<std::size_t>(streams) != 0)
    throw Error("load_logits needs [streams][vocab] logits");
  logits_.reserve(logits.size());
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits_.data(), logits.data(), logits.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, context_.stream()));
  loaded_streams_ = streams;
  loaded_vocab_ = static_cast<int>(logits.size() / static_cast<std::size_t>(streams));
  decoded_.reserve(static_cast<std::size_t>(streams));
  sampling_scratch_.reserve(std::max<std::size_t>(kernels::sampling_scratch_bytes(streams, loaded_vocab_), 1));
  context_.synchronize();
}

void GpuEngine::draw_tokens(const SamplingOptions& sampling, const std::vector<DrawKey>& keys, uint64_t position) {
  if (static_cast<int>(keys.size()) != loaded_streams_) throw Error("draw_tokens needs one key per loaded stream");
  upload_draw_keys(keys, 1, position);
  const uint64_t* seeds = sampling_keys_.data();
  kernels::sample_tokens(logits_.data(), loaded_streams_, loaded_vocab_,
                         {sampling.temperature, sampling.top_k, sampling.top_p}, seeds, seeds + loaded_streams_,
                         seeds + 2 * loaded_streams_, decoded_.data(), sampling_scratch_.data(), context_.stream());
}

void GpuEngine::decode_step(const kernels::SamplingParams& params) {
  seq_len_ = 1;
  forward(step_ids_.data(), false);
  last_position_logits();
  draw_next_tokens(params);
}

void GpuEngine::draw_next_tokens(const kernels::SamplingParams& params) {
  const int streams = state_batch_;
  const uint64_t* seeds = sampling_keys_.data();
  uint64_t* steps = sampling_keys_.data() + 2 * static_cast<std::size_t>(streams);
  kernels::sample_tokens(logits_.data(), streams, config_.vocab_size, params, seeds, seeds + streams, steps,
                         step_ids_.data(), sampling_scratch_.data(), context_.stream());
  kernels::advance_steps(steps, streams, context_.stream());
}

bool GpuEngine::capture_decode_step(const kernels::SamplingParams& params, cudaGraphExec_t& replay) {
  cudaGraph_t graph = nullptr;
  GENRNN_CUDA_CHECK(cudaStreamBeginCapture(context_.stream(), cudaStreamCaptureModeThreadLocal));
  try {
    decode_step(params);
  } catch (const Error&) {
    // Something in the step cannot be captured (a library call that synchronizes, say):
    // end the capture, forget it, and let the caller launch the step plainly.
    cudaStreamEndCapture(context_.stream(), &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    return false;
  }
  const bool captured = cudaStreamEndCapture(context_.stream(), &graph) == cudaSuccess && graph &&
                        cudaGraphInstantiate(&replay, graph, 0) == cudaSuccess;
  if (graph) cudaGraphDestroy(graph);
  cudaGetLastError();
  return captured;
}

void GpuEngine::decode(const std::vector<float>& first_logits, int length, const SamplingOptions& sampling,
                       const std::vector<DrawKey>& keys, const TokenChunkCallback& on_tokens) {
  NvtxRange range("decode");
  sampling.validate();
  const int streams = state_batch_, V = config_.vocab_size;
  if (length < 1 || static_cast<int>(keys.size()) != streams ||
      first_logits.size() != static_cast<std::size_t>(streams) * V)
    throw Error("decode needs a key and the logits of every stream of the state, and length >= 1");
  batch_ = streams;
  logits_.reserve(first_logits.size());
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(logits_.data(), first_logits.data(), first_logits.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, context_.stream()));
  const auto total = static_cast<std::size_t>(length) * streams;
  upload_draw_keys(keys, 1, 0);  // the steps advance on the device
  step_ids_.reserve(static_cast<std::size_t>(streams));
  decoded_.reserve(total);
  decoded_host_.reserve(total);
  sampling_scratch_.reserve(std::max<std::size_t>(kernels::sampling_scratch_bytes(streams, V), 1));
  const kernels::SamplingParams params{sampling.temperature, sampling.top_k, sampling.top_p};

  // One step (input ids -> layers -> head -> sampler) is captured as a CUDA graph per state
  // parity, once the plain launches of the first two steps have set every buffer up, and then
  // replayed. GENRNN_CUDA_GRAPHS=0 keeps plain launches (for comparison and debugging).
  const char* graphs_setting = std::getenv("GENRNN_CUDA_GRAPHS");
  bool graphs = !(graphs_setting && std::string(graphs_setting) == "0");
  cudaGraphExec_t replays[2] = {nullptr, nullptr};
  // Ids reach the host in chunks: while the device runs chunk c, the host reads chunk c - 1.
  constexpr int chunk = 16;
  const Event copied(cudaEventDisableTiming);
  int pending_first = 0, pending_count = 0;
  bool wanted = true;  // the caller still wants tokens
  auto deliver_pending = [&] {
    if (pending_count == 0) return;
    GENRNN_CUDA_CHECK(cudaEventSynchronize(copied.get()));
    wanted = on_tokens(pending_first, pending_count, decoded_host_.data() + static_cast<std::size_t>(pending_first) * streams);
    pending_count = 0;
  };
  auto release = [&] {
    for (cudaGraphExec_t replay : replays)
      if (replay) cudaGraphExecDestroy(replay);
  };
  try {
    int chunk_first = 0;
    for (int position = 0; position < length && wanted; ++position) {
      if (position == 0) {  // from the prompt's logits
        draw_next_tokens(params);
      } else {
        cudaGraphExec_t& replay = replays[current_state_];
        if (graphs && !replay && position >= 3) graphs = capture_decode_step(params, replay);
        if (replay)
          GENRNN_CUDA_CHECK(cudaGraphLaunch(replay, context_.stream()));
        else
          decode_step(params);
        advance_state();
      }
      GENRNN_CUDA_CHECK(cudaMemcpyAsync(decoded_.data() + static_cast<std::size_t>(position) * streams,
                                        step_ids_.data(), static_cast<std::size_t>(streams) * sizeof(int),
                                        cudaMemcpyDeviceToDevice, context_.stream()));
      if ((position + 1) % chunk != 0 && position + 1 != length) continue;
      const std::size_t offset = static_cast<std::size_t>(chunk_first) * streams;
      const int count = position + 1 - chunk_first;
      GENRNN_CUDA_CHECK(cudaMemcpyAsync(decoded_host_.data() + offset, decoded_.data() + offset,
                                        static_cast<std::size_t>(count) * streams * sizeof(int), cudaMemcpyDeviceToHost,
                                        context_.stream()));
      deliver_pending();
      GENRNN_CUDA_CHECK(cudaEventRecord(copied.get(), context_.stream()));
      pending_first = chunk_first;
      pending_count = count;
      chunk_first = position + 1;
    }
    if (wanted) deliver_pending();
    context_.synchronize();  // the last chunk's work may still run when the caller ended early
  } catch (...) {
    release();
    throw;
  }
  release();
}

double GpuEngine::time_seconds(const std::function<void()>& work) {
  const Event start, stop;
  GENRNN_CUDA_CHECK(cudaEventRecord(start.get(), context_.stream()));
  work();
  GENRNN_CUDA_CHECK(cudaEventRecord(stop.get(), context_.stream()));
  GENRNN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float milliseconds = 0;
  GENRNN_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()));
  return milliseconds / 1000.0;
}

void GpuEngine::step(const std::vector<int>& ids, std::vector<float>& logits) {
  prefill(ids, static_cast<int>(ids.size()), logits);
}

}  // namespace genrnn::cuda
