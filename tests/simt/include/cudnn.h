#pragma once
// The host SIMT executor's cuDNN: not emulated. A handle can be made (every GPU engine's context
// makes one); every RNN call answers CUDNN_STATUS_NOT_SUPPORTED, so the cudnn engine's tests skip
// on the executor, saying so (tests/simt/cudnn.cpp).
#include <cstddef>
#include <cstdint>

#include "cuda_runtime_api.h"

#define CUDNN_MAJOR 0
#define CUDNN_MINOR 0
#define CUDNN_PATCHLEVEL 0
#define CUDNN_VERSION 0

struct cudnnContext;
struct cudnnTensorStruct;
struct cudnnDropoutStruct;
struct cudnnRNNStruct;
struct cudnnRNNDataStruct;
typedef cudnnContext* cudnnHandle_t;
typedef cudnnTensorStruct* cudnnTensorDescriptor_t;
typedef cudnnDropoutStruct* cudnnDropoutDescriptor_t;
typedef cudnnRNNStruct* cudnnRNNDescriptor_t;
typedef cudnnRNNDataStruct* cudnnRNNDataDescriptor_t;

enum cudnnStatus_t { CUDNN_STATUS_SUCCESS = 0, CUDNN_STATUS_BAD_PARAM = 2000, CUDNN_STATUS_NOT_SUPPORTED = 3000 };
enum cudnnDataType_t { CUDNN_DATA_FLOAT = 0 };
enum cudnnRNNMode_t { CUDNN_RNN_RELU = 0, CUDNN_RNN_TANH = 1, CUDNN_LSTM = 2, CUDNN_GRU = 3 };
enum cudnnRNNAlgo_t { CUDNN_RNN_ALGO_STANDARD = 0 };
enum cudnnRNNBiasMode_t { CUDNN_RNN_DOUBLE_BIAS = 2 };
enum cudnnDirectionMode_t { CUDNN_UNIDIRECTIONAL = 0 };
enum cudnnRNNInputMode_t { CUDNN_LINEAR_INPUT = 0 };
enum cudnnMathType_t { CUDNN_DEFAULT_MATH = 0, CUDNN_FMA_MATH = 3 };
enum cudnnRNNDataLayout_t { CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED = 0 };
enum cudnnForwardMode_t { CUDNN_FWD_MODE_INFERENCE = 0, CUDNN_FWD_MODE_TRAINING = 1 };
enum cudnnWgradMode_t { CUDNN_WGRAD_MODE_ADD = 0 };
#define CUDNN_RNN_PADDED_IO_ENABLED 1u

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle);
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle);
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream);
std::size_t cudnnGetVersion();
const char* cudnnGetErrorString(cudnnStatus_t status);
void cudnnGetLastErrorString(char* message, std::size_t max);

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* descriptor);
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t descriptor);
cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t descriptor, cudnnDataType_t type, int rank,
                                         const int dims[], const int strides[]);
cudnnStatus_t cudnnGetTensorNdDescriptor(cudnnTensorDescriptor_t descriptor, int max_rank, cudnnDataType_t* type,
                                         int* rank, int dims[], int strides[]);
cudnnStatus_t cudnnCreateDropoutDescriptor(cudnnDropoutDescriptor_t* descriptor);
cudnnStatus_t cudnnDestroyDropoutDescriptor(cudnnDropoutDescriptor_t descriptor);
cudnnStatus_t cudnnDropoutGetStatesSize(cudnnHandle_t handle, std::size_t* bytes);
cudnnStatus_t cudnnSetDropoutDescriptor(cudnnDropoutDescriptor_t descriptor, cudnnHandle_t handle, float dropout,
                                        void* states, std::size_t state_bytes, unsigned long long seed);
cudnnStatus_t cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t* descriptor);
cudnnStatus_t cudnnDestroyRNNDescriptor(cudnnRNNDescriptor_t descriptor);
cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t descriptor, cudnnRNNAlgo_t algo, cudnnRNNMode_t cell,
                                       cudnnRNNBiasMode_t bias, cudnnDirectionMode_t direction,
                                       cudnnRNNInputMode_t input_mode, cudnnDataType_t data_type,
                                       cudnnDataType_t math_precision, cudnnMathType_t math_type, int input_size,
                                       int hidden_size, int projection_size, int layers,
                                       cudnnDropoutDescriptor_t dropout, uint32_t flags);
cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t handle, cudnnRNNDescriptor_t descriptor, std::size_t* bytes);
cudnnStatus_t cudnnGetRNNWeightParams(cudnnHandle_t handle, cudnnRNNDescriptor_t descriptor, int32_t layer,
                                      std::size_t weight_bytes, const void* weights, int32_t lin_layer_id,
                                      cudnnTensorDescriptor_t matrix_descriptor, void** matrix,
                                      cudnnTensorDescriptor_t bias_descriptor, void** bias);
cudnnStatus_t cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t* descriptor);
cudnnStatus_t cudnnDestroyRNNDataDescriptor(cudnnRNNDataDescriptor_t descriptor);
cudnnStatus_t cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t descriptor, cudnnDataType_t type,
                                        cudnnRNNDataLayout_t layout, int max_length, int batch, int vector_size,
                                        const int lengths[], void* padding);
cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t handle, cudnnRNNDescriptor_t descriptor, cudnnForwardMode_t mode,
                                        cudnnRNNDataDescriptor_t x_descriptor, std::size_t* workspace_bytes,
                                        std::size_t* reserve_bytes);
cudnnStatus_t cudnnRNNForward(cudnnHandle_t handle, cudnnRNNDescriptor_t descriptor, cudnnForwardMode_t mode,
                              const int32_t lengths[], cudnnRNNDataDescriptor_t x_descriptor, const void* x,
                              cudnnRNNDataDescriptor_t y_descriptor, void* y, cudnnTensorDescriptor_t h_descriptor,
                              const void* hx, void* hy, cudnnTensorDescriptor_t c_descriptor, const void* cx, void* cy,
                              std::size_t weight_bytes, const void* weights, std::size_t workspace_bytes,
                              void* workspace, std::size_t reserve_bytes, void* reserve);
cudnnStatus_t cudnnRNNBackwardData_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t descriptor, const int32_t lengths[],
                                      cudnnRNNDataDescriptor_t y_descriptor, const void* y, const void* dy,
                                      cudnnRNNDataDescriptor_t x_descriptor, void* dx,
                                      cudnnTensorDescriptor_t h_descriptor, const void* hx, const void* dhy, void* dhx,
                                      cudnnTensorDescriptor_t c_descriptor, const void* cx, const void* dcy, void* dcx,
                                      std::size_t weight_bytes, const void* weights, std::size_t workspace_bytes,
                                      void* workspace, std::size_t reserve_bytes, void* reserve);
cudnnStatus_t cudnnRNNBackwardWeights_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t descriptor, cudnnWgradMode_t mode,
                                         const int32_t lengths[], cudnnRNNDataDescriptor_t x_descriptor, const void* x,
                                         cudnnTensorDescriptor_t h_descriptor, const void* hx,
                                         cudnnRNNDataDescriptor_t y_descriptor, const void* y, std::size_t weight_bytes,
                                         void* weight_gradients, std::size_t workspace_bytes, void* workspace,
                                         std::size_t reserve_bytes, void* reserve);
