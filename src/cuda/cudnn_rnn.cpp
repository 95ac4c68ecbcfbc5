#include "cuda/cudnn_rnn.hpp"

#include <algorithm>
#include <string>

#include "genrnn/error.hpp"
#include "genrnn/parameters.hpp"

namespace genrnn::cuda {

namespace {

cudnnRNNMode_t cell_mode(CellType cell) {
  switch (cell) {
    case CellType::lstm: return CUDNN_LSTM;
    case CellType::gru: return CUDNN_GRU;
    case CellType::rnn: return CUDNN_RNN_TANH;
  }
  throw Error("unknown cell type");
}

std::size_t element_count(cudnnTensorDescriptor_t descriptor) {
  cudnnDataType_t type;
  int rank = 0, dims[8], strides[8];
  GENRNN_CUDNN_CHECK(cudnnGetTensorNdDescriptor(descriptor, 8, &type, &rank, dims, strides));
  std::size_t count = 1;
  for (int d = 0; d < rank; ++d) count *= static_cast<std::size_t>(dims[d]);
  return count;
}

}  // namespace

CudnnRnn::CudnnRnn(const DeviceContext& context, const ModelConfig& config) : context_(context), config_(config) {
  GENRNN_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&dropout_));
  std::size_t state_bytes = 0;
  GENRNN_CUDNN_CHECK(cudnnDropoutGetStatesSize(context.cudnn(), &state_bytes));
  dropout_states_.reserve(state_bytes);
  GENRNN_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout_, context.cudnn(), 0.0f, dropout_states_.data(), state_bytes, 0));
  GENRNN_CUDNN_CHECK(cudnnCreateRNNDescriptor(&rnn_));
  describe();
  GENRNN_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(context.cudnn(), rnn_, &weight_bytes_));
  GENRNN_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&x_desc_));
  GENRNN_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&y_desc_));
  GENRNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&state_desc_));
}

void CudnnRnn::describe() {
  // PyTorch's equations need both bias vectors; unpacked batch-major data needs padded I/O.
  GENRNN_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(
      rnn_, CUDNN_RNN_ALGO_STANDARD, cell_mode(config_.cell), CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL,
      CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, context_.tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH,
      config_.input_size(), config_.hidden_size, config_.hidden_size, config_.num_layers, dropout_,
      CUDNN_RNN_PADDED_IO_ENABLED));
}

void CudnnRnn::set_dropout(float probability, uint64_t seed, uint64_t) {
  if (probability == dropout_probability_) return;
  GENRNN_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout_, context_.cudnn(), probability, dropout_states_.data(),
                                               dropout_states_.capacity(), seed));
  dropout_probability_ = probability;
  describe();
  batch_ = seq_len_ = 0;  // the scratch sizes may have changed
}

CudnnRnn::~CudnnRnn() {
  cudnnDestroyTensorDescriptor(state_desc_);
  cudnnDestroyRNNDataDescriptor(y_desc_);
  cudnnDestroyRNNDataDescriptor(x_desc_);
  cudnnDestroyRNNDescriptor(rnn_);
  cudnnDestroyDropoutDescriptor(dropout_);
}

std::vector<ParameterSegment> CudnnRnn::weight_segments(const float* weights) const {
  const auto layout = parameter_layout(config_);
  const int gates = config_.gate_count();
  const auto H = static_cast<std::size_t>(config_.hidden_size);
  cudnnTensorDescriptor_t matrix_desc, bias_desc;
  GENRNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&matrix_desc));
  GENRNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias_desc));
  std::vector<ParameterSegment> segments;
  try {
    for (int layer = 0; layer < config_.num_layers; ++layer) {
      const std::string k = "_l" + std::to_string(layer);
      // linLayerID 0 .. gates-1: input weights per gate (PyTorch's order: LSTM i,f,g,o; GRU
      // r,z,n); gates .. 2*gates-1: recurrent weights in the same order.
      for (int id = 0; id < 2 * gates; ++id) {
        const bool recurrent = id >= gates;
        const auto gate = static_cast<std::size_t>(recurrent ? id - gates : id);
        const TensorSpec& matrix = find_tensor(layout, (recurrent ? "rnn.weight_hh" : "rnn.weight_ih") + k);
        const TensorSpec& bias = find_tensor(layout, (recurrent ? "rnn.bias_hh" : "rnn.bias_ih") + k);
        void *matrix_address = nullptr, *bias_address = nullptr;
        GENRNN_CUDNN_CHECK(cudnnGetRNNWeightParams(context_.cudnn(), rnn_, layer, weight_bytes_, weights, id,
                                                   matrix_desc, &matrix_address, bias_desc, &bias_address));
        const std::size_t columns = static_cast<std::size_t>(matrix.shape[1]);
        if (element_count(matrix_desc) != H * columns || element_count(bias_desc) != H)
          throw Error("cuDNN's weight block " + std::to_string(id) + " of layer " + std::to_string(layer) +
                      " does not have the shape of PyTorch's gate block");
        auto offset_of = [weights](void* address) {
          return static_cast<std::size_t>(static_cast<const float*>(address) - weights);
        };
        segments.push_back({matrix.offset + gate * H * columns, offset_of(matrix_address), H * columns});
        segments.push_back({bias.offset + gate * H, offset_of(bias_address), H});
      }
    }
  } catch (...) {
    cudnnDestroyTensorDescriptor(bias_desc);
    cudnnDestroyTensorDescriptor(matrix_desc);
    throw;
  }
  cudnnDestroyTensorDescriptor(bias_desc);
  cudnnDestroyTensorDescriptor(matrix_desc);
  return segments;
}

void CudnnRnn::configure(int batch, int seq_len) {
  if (batch == batch_ && seq_len == seq_len_) return;
  const std::vector<int> lengths(static_cast<std::size_t>(batch), seq_len);
  float padding = 0.0f;
  GENRNN_CUDNN_CHECK(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED,
                                               seq_len, batch, config_.input_size(), lengths.data(), &padding));
  GENRNN_CUDNN_CHECK(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED,
                                               seq_len, batch, config_.hidden_size, lengths.data(), &padding));
  const int dims[3] = {config_.num_layers, batch, config_.hidden_size};
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
  state_gradients_.reserve(2 * static_cast<std::size_t>(config_.num_layers) * batch * config_.hidden_size);
  // The lengths were copied from a host vector that is about to go away.
  GENRNN_CUDA_CHECK(cudaStreamSynchronize(context_.stream()));
  batch_ = batch;
  seq_len_ = seq_len;
}

void CudnnRnn::forward(bool training, const float* x, float* y, const float* hx, float* hy, const float* cx,
                       float* cy, const float* weights) {
  const bool lstm = config_.cell == CellType::lstm;
  GENRNN_CUDNN_CHECK(cudnnRNNForward(context_.cudnn(), rnn_, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                                     sequence_lengths_.data(), x_desc_, x, y_desc_, y, state_desc_, hx, hy, state_desc_,
                                     lstm ? cx : nullptr, lstm ? cy : nullptr, weight_bytes_, weights,
                                     workspace_bytes_, workspace_.data(), training ? reserve_bytes_ : 0,
                                     training ? reserve_.data() : nullptr));
}

void CudnnRnn::backward(const float* x, const float* y, const float* dy, float* dx, const float* hx, const float* cx,
                        const float* weights, float* weight_gradients) {
  const bool lstm = config_.cell == CellType::lstm;
  const std::size_t state_size = static_cast<std::size_t>(config_.num_layers) * batch_ * config_.hidden_size;
  float* dhx = state_gradients_.data();
  float* dcx = dhx + state_size;
  GENRNN_CUDNN_CHECK(cudnnRNNBackwardData_v8(context_.cudnn(), rnn_, sequence_lengths_.data(), y_desc_, y, dy,
                                             x_desc_, dx, state_desc_, hx, nullptr, dhx, state_desc_,
                                             lstm ? cx : nullptr, nullptr, lstm ? dcx : nullptr, weight_bytes_, weights,
                                             workspace_bytes_, workspace_.data(), reserve_bytes_, reserve_.data()));
  GENRNN_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(context_.cudnn(), rnn_, CUDNN_WGRAD_MODE_ADD, sequence_lengths_.data(),
                                                x_desc_, x, state_desc_, hx, y_desc_, y, weight_bytes_, weight_gradients,
                                                workspace_bytes_, workspace_.data(), reserve_bytes_, reserve_.data()));
}

}  // namespace genrnn::cuda
