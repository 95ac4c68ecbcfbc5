#include "cuda/cudnn_layers.hpp"

#include <algorithm>
#include <string>

#include "core/cell_table.hpp"
#include "genrnn/error.hpp"
#include "kernels/ops.hpp"

namespace genrnn::cuda {

namespace {

// The cell table records cuDNN's modes by value, without cuDNN's headers.
static_assert(CUDNN_RNN_TANH == 1 && CUDNN_LSTM == 2 && CUDNN_GRU == 3, "cuDNN's RNN modes moved");

std::size_t element_count(cudnnTensorDescriptor_t descriptor) {
  cudnnDataType_t type;
  int rank = 0, dims[8], strides[8];
  GENRNN_CUDNN_CHECK(cudnnGetTensorNdDescriptor(descriptor, 8, &type, &rank, dims, strides));
  std::size_t count = 1;
  for (int d = 0; d < rank; ++d) count *= static_cast<std::size_t>(dims[d]);
  return count;
}

// Two cuDNN tensor descriptors, destroyed with their owner.
struct TensorDescriptors {
  TensorDescriptors() {
    GENRNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&matrix));
    GENRNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias));
  }
  ~TensorDescriptors() {
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyTensorDescriptor(matrix);
  }
  TensorDescriptors(const TensorDescriptors&) = delete;
  TensorDescriptors& operator=(const TensorDescriptors&) = delete;
  cudnnTensorDescriptor_t matrix = nullptr, bias = nullptr;
};

}  // namespace

CudnnLayers::CudnnLayers(const DeviceContext& context, const ModelConfig& config)
    : context_(context),
      config_(config),
      offsets_(parameter_offsets(config)),
      dropout_states_(context.stream()),
      sequence_lengths_(context.stream()),
      workspace_(context.stream()),
      reserve_(context.stream()),
      y_(context.stream()),
      first_dropped_(context.stream()),
      d_first_(context.stream()),
      state_gradients_(context.stream()) {
  if (config.embedding_dim == 0) {
    first_ = std::make_unique<FusedLayers>(context, config, 0, 1);
    cudnn_offset_ = aligned_floats(first_->weight_floats());
  }
  if (cudnn_layers() == 0) return;  // a single one-hot layer: no cuDNN at all
  if (describe_cell(config.cell).cudnn_mode == math::kNoCudnnMode)
    throw Error("cuDNN has no " + to_string(config.cell) + " cell");
  GENRNN_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&dropout_));
  std::size_t state_bytes = 0;
  GENRNN_CUDNN_CHECK(cudnnDropoutGetStatesSize(context.cudnn(), &state_bytes));
  dropout_states_.reserve(state_bytes);
  GENRNN_CUDNN_CHECK(
      cudnnSetDropoutDescriptor(dropout_, context.cudnn(), 0.0f, dropout_states_.data(), state_bytes, 0));
  GENRNN_CUDNN_CHECK(cudnnCreateRNNDescriptor(&rnn_));
  describe();
  GENRNN_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(context.cudnn(), rnn_, &weight_bytes_));
  GENRNN_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&x_desc_));
  GENRNN_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&y_desc_));
  GENRNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&state_desc_));
}

CudnnLayers::~CudnnLayers() {
  cudnnDestroyTensorDescriptor(state_desc_);
  cudnnDestroyRNNDataDescriptor(y_desc_);
  cudnnDestroyRNNDataDescriptor(x_desc_);
  cudnnDestroyRNNDescriptor(rnn_);
  cudnnDestroyDropoutDescriptor(dropout_);
}

void CudnnLayers::describe() {
  // PyTorch's equations need both bias vectors; unpacked time-major data needs padded I/O.
  const int input = first_ ? config_.hidden_size : config_.input_size();
  GENRNN_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(
      rnn_, CUDNN_RNN_ALGO_STANDARD, static_cast<cudnnRNNMode_t>(describe_cell(config_.cell).cudnn_mode),
      CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
      context_.tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, input, config_.hidden_size, config_.hidden_size,
      cudnn_layers(), dropout_, CUDNN_RNN_PADDED_IO_ENABLED));
}

void CudnnLayers::set_dropout(float probability, uint64_t seed) {
  if (probability == dropout_probability_) return;
  GENRNN_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout_, context_.cudnn(), probability, dropout_states_.data(),
                                               dropout_states_.capacity(), seed));
  dropout_probability_ = probability;
  describe();
  batch_ = seq_len_ = 0;  // the scratch sizes may have changed
}

std::vector<ParameterSegment> CudnnLayers::weight_segments(const float* weights) const {
  std::vector<ParameterSegment> segments;
  if (first_) segments = first_->weight_segments(weights);
  if (cudnn_layers() == 0) return segments;
  const float* space = weights + cudnn_offset_;
  const int gates = config_.gate_count();
  const auto H = static_cast<std::size_t>(config_.hidden_size);
  const TensorDescriptors descriptors;
  for (int layer = 0; layer < cudnn_layers(); ++layer) {
    const LayerOffsets& tensors = offsets_.layers[layer + (first_ ? 1 : 0)];
    // linLayerID 0 .. gates-1: input weights per gate (PyTorch's gate order); gates .. 2*gates-1:
    // recurrent weights in the same order.
    for (int id = 0; id < 2 * gates; ++id) {
      const bool recurrent = id >= gates;
      const auto gate = static_cast<std::size_t>(recurrent ? id - gates : id);
      const std::size_t columns = recurrent ? H : static_cast<std::size_t>(tensors.input_size);
      void *matrix_address = nullptr, *bias_address = nullptr;
      GENRNN_CUDNN_CHECK(cudnnGetRNNWeightParams(context_.cudnn(), rnn_, layer, weight_bytes_, space, id,
                                                 descriptors.matrix, &matrix_address, descriptors.bias, &bias_address));
      if (element_count(descriptors.matrix) != H * columns || element_count(descriptors.bias) != H)
        throw Error("cuDNN's weight block " + std::to_string(id) + " of layer " + std::to_string(layer) +
                    " does not have the shape of PyTorch's gate block");
      auto offset_of = [weights](void* address) {
        return static_cast<std::size_t>(static_cast<const float*>(address) - weights);
      };
      segments.push_back({(recurrent ? tensors.weight_hh() : tensors.weight_ih()) + gate * H * columns,
                          offset_of(matrix_address), H * columns});
      segments.push_back({(recurrent ? tensors.bias_hh() : tensors.bias_ih()) + gate * H, offset_of(bias_address), H});
    }
  }
  return segments;
}

void CudnnLayers::configure(int batch, int seq_len) {
  if (batch == batch_ && seq_len == seq_len_) return;
  require_not_capturing(context_.stream(), "cuDNN's RNN descriptors change");
  const std::vector<int> lengths(static_cast<std::size_t>(batch), seq_len);
  const int input = first_ ? config_.hidden_size : config_.input_size();
  float padding = 0.0f;
  GENRNN_CUDNN_CHECK(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                               seq_len, batch, input, lengths.data(), &padding));
  GENRNN_CUDNN_CHECK(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED,
                                               seq_len, batch, config_.hidden_size, lengths.data(), &padding));
  const int dims[3] = {cudnn_layers(), batch, config_.hidden_size};
  const int strides[3] = {batch * config_.hidden_size, config_.hidden_size, 1};
  GENRNN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(state_desc_, CUDNN_DATA_FLOAT, 3, dims, strides));
  sequence_lengths_.reserve(static_cast<std::size_t>(batch));
  GENRNN_CUDA_CHECK(cudaMemcpyAsync(sequence_lengths_.data(), lengths.data(), lengths.size() * sizeof(int32_t),
                                    cudaMemcpyHostToDevice, context_.stream()));
  // One workspace serves both modes: the larger of the two sizes.
  std::size_t inference_workspace = 0, no_reserve = 0;
  GENRNN_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(context_.cudnn(), rnn_, CUDNN_FWD_MODE_TRAINING, x_desc_,
                                               &workspace_bytes_, &reserve_bytes_));
  GENRNN_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(context_.cudnn(), rnn_, CUDNN_FWD_MODE_INFERENCE, x_desc_,
                                               &inference_workspace, &no_reserve));
  workspace_bytes_ = std::max(workspace_bytes_, inference_workspace);
  workspace_.reserve(workspace_bytes_);
  reserve_.reserve(reserve_bytes_);
  const std::size_t rows = static_cast<std::size_t>(batch) * seq_len;
  y_.reserve(rows * config_.hidden_size);
  state_gradients_.reserve(2 * static_cast<std::size_t>(cudnn_layers()) * batch * config_.hidden_size);
  // The lengths were copied from a host vector that is about to go away.
  context_.synchronize();
  batch_ = batch;
  seq_len_ = seq_len;
}

void CudnnLayers::forward(int batch, int seq_len, const LayerInput& input, const float* weights, const float* hx,
                          const float* cx, float* hy, float* cy, bool training, const math::DropoutMask& dropout) {
  const float* x = input.rows;
  const std::size_t layer_state = static_cast<std::size_t>(batch) * config_.hidden_size;
  const bool has_c = describe_cell(config_.cell).has_cell_state;
  if (first_) {
    first_->forward(batch, seq_len, input, weights, hx, cx, hy, cy, training, dropout);
    if (cudnn_layers() == 0) return;
    // cuDNN takes the first layer's outputs, and the state from the second layer on.
    x = first_->outputs();
    first_dropout_ = training ? dropout : math::DropoutMask{};
    if (first_dropout_.probability > 0) {
      const std::size_t n = static_cast<std::size_t>(batch) * seq_len * config_.hidden_size;
      first_dropped_.reserve(n);
      kernels::apply_dropout(x, first_dropped_.data(), n, first_dropout_, 0, context_.stream());
      x = first_dropped_.data();
    }
    hx += layer_state, hy += layer_state;
    if (has_c) cx += layer_state, cy += layer_state;
  }
  // Inference ignores cuDNN's dropout: leave its states alone (re-initialising them is costly,
  // restarts its masks, and would synchronize inside a captured decode step).
  // cuDNN draws its own masks from its own generator: each process of a data-parallel run seeds
  // it apart, by its first stream, or all would drop the same units of their streams.
  if (training) set_dropout(dropout.probability, dropout.seed ^ (dropout.first_stream * 0x9E3779B97F4A7C15ull));
  configure(batch, seq_len);
  GENRNN_CUDNN_CHECK(cudnnRNNForward(
      context_.cudnn(), rnn_, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE, sequence_lengths_.data(),
      x_desc_, x, y_desc_, y_.data(), state_desc_, hx, hy, state_desc_, has_c ? cx : nullptr, has_c ? cy : nullptr,
      weight_bytes_, weights + cudnn_offset_, workspace_bytes_, workspace_.data(), training ? reserve_bytes_ : 0,
      training ? reserve_.data() : nullptr));
  x_ = x, hx_ = hx, cx_ = has_c ? cx : nullptr;
}

const float* CudnnLayers::outputs() const { return cudnn_layers() > 0 ? y_.data() : first_->outputs(); }

void CudnnLayers::backward(const LayerInput& input, const float* weights, const float* d_outputs,
                           float* weight_gradients, float* d_input) {
  const std::size_t rows = static_cast<std::size_t>(batch_) * seq_len_;
  if (cudnn_layers() > 0) {
    // The gradient reaching cuDNN's input: the embedded rows', or the first layer's outputs'.
    float* dx = d_input;
    if (first_) {
      d_first_.reserve(rows * config_.hidden_size);
      dx = d_first_.data();
    }
    float* dhx = state_gradients_.data();
    float* dcx = cx_ ? dhx + static_cast<std::size_t>(cudnn_layers()) * state_rows() : nullptr;
    GENRNN_CUDNN_CHECK(cudnnRNNBackwardData_v8(context_.cudnn(), rnn_, sequence_lengths_.data(), y_desc_, y_.data(),
                                               d_outputs, x_desc_, dx, state_desc_, hx_, nullptr, dhx, state_desc_, cx_,
                                               nullptr, dcx, weight_bytes_, weights + cudnn_offset_, workspace_bytes_,
                                               workspace_.data(), reserve_bytes_, reserve_.data()));
    GENRNN_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(
        context_.cudnn(), rnn_, CUDNN_WGRAD_MODE_ADD, sequence_lengths_.data(), x_desc_, x_, state_desc_, hx_, y_desc_,
        y_.data(), weight_bytes_, weight_gradients + cudnn_offset_, workspace_bytes_, workspace_.data(), reserve_bytes_,
        reserve_.data()));
  }
  if (!first_) return;
  const float* d_first_outputs = d_outputs;
  if (cudnn_layers() > 0) {
    if (first_dropout_.probability > 0)  // through the mask of the first layer's outputs
      kernels::apply_dropout(d_first_.data(), d_first_.data(), rows * config_.hidden_size, first_dropout_, 0,
                             context_.stream());
    d_first_outputs = d_first_.data();
  }
  first_->backward(input, weights, d_first_outputs, weight_gradients, nullptr);
}

}  // namespace genrnn::cuda
