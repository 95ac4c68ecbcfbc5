// The host SIMT executor's cuDNN: not emulated. Handles can be made and bound (every GPU
// engine's context makes one); every descriptor and RNN call answers CUDNN_STATUS_NOT_SUPPORTED.
#include <cudnn.h>

#include <cstring>

struct cudnnContext {};

namespace {
constexpr const char* kWhy = "cuDNN is not emulated on the host SIMT executor";
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  *handle = new cudnnContext;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  delete handle;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t, cudaStream_t) { return CUDNN_STATUS_SUCCESS; }
std::size_t cudnnGetVersion() { return 0; }
const char* cudnnGetErrorString(cudnnStatus_t status) {
  return status == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS" : "CUDNN_STATUS_NOT_SUPPORTED";
}
void cudnnGetLastErrorString(char* message, std::size_t max) {
  if (max == 0) return;
  std::strncpy(message, kWhy, max - 1);
  message[max - 1] = '\0';
}

// Destroying what was never made is harmless.
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t) { return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyDropoutDescriptor(cudnnDropoutDescriptor_t) { return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyRNNDescriptor(cudnnRNNDescriptor_t) { return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyRNNDataDescriptor(cudnnRNNDataDescriptor_t) { return CUDNN_STATUS_SUCCESS; }

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t*) { return CUDNN_STATUS_NOT_SUPPORTED; }
cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t, cudnnDataType_t, int, const int[], const int[]) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnGetTensorNdDescriptor(cudnnTensorDescriptor_t, int, cudnnDataType_t*, int*, int[], int[]) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnCreateDropoutDescriptor(cudnnDropoutDescriptor_t*) { return CUDNN_STATUS_NOT_SUPPORTED; }
cudnnStatus_t cudnnDropoutGetStatesSize(cudnnHandle_t, std::size_t*) { return CUDNN_STATUS_NOT_SUPPORTED; }
cudnnStatus_t cudnnSetDropoutDescriptor(cudnnDropoutDescriptor_t, cudnnHandle_t, float, void*, std::size_t,
                                        unsigned long long) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t*) { return CUDNN_STATUS_NOT_SUPPORTED; }
cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t, cudnnRNNAlgo_t, cudnnRNNMode_t, cudnnRNNBiasMode_t,
                                       cudnnDirectionMode_t, cudnnRNNInputMode_t, cudnnDataType_t, cudnnDataType_t,
                                       cudnnMathType_t, int, int, int, int, cudnnDropoutDescriptor_t, uint32_t) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t, cudnnRNNDescriptor_t, std::size_t*) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnGetRNNWeightParams(cudnnHandle_t, cudnnRNNDescriptor_t, int32_t, std::size_t, const void*, int32_t,
                                      cudnnTensorDescriptor_t, void**, cudnnTensorDescriptor_t, void**) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t*) { return CUDNN_STATUS_NOT_SUPPORTED; }
cudnnStatus_t cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t, cudnnDataType_t, cudnnRNNDataLayout_t, int, int, int,
                                        const int[], void*) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t, cudnnRNNDescriptor_t, cudnnForwardMode_t,
                                        cudnnRNNDataDescriptor_t, std::size_t*, std::size_t*) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnRNNForward(cudnnHandle_t, cudnnRNNDescriptor_t, cudnnForwardMode_t, const int32_t[],
                              cudnnRNNDataDescriptor_t, const void*, cudnnRNNDataDescriptor_t, void*,
                              cudnnTensorDescriptor_t, const void*, void*, cudnnTensorDescriptor_t, const void*, void*,
                              std::size_t, const void*, std::size_t, void*, std::size_t, void*) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnRNNBackwardData_v8(cudnnHandle_t, cudnnRNNDescriptor_t, const int32_t[], cudnnRNNDataDescriptor_t,
                                      const void*, const void*, cudnnRNNDataDescriptor_t, void*,
                                      cudnnTensorDescriptor_t, const void*, const void*, void*, cudnnTensorDescriptor_t,
                                      const void*, const void*, void*, std::size_t, const void*, std::size_t, void*,
                                      std::size_t, void*) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
cudnnStatus_t cudnnRNNBackwardWeights_v8(cudnnHandle_t, cudnnRNNDescriptor_t, cudnnWgradMode_t, const int32_t[],
                                         cudnnRNNDataDescriptor_t, const void*, cudnnTensorDescriptor_t, const void*,
                                         cudnnRNNDataDescriptor_t, const void*, std::size_t, void*, std::size_t, void*,
                                         std::size_t, void*) {
  return CUDNN_STATUS_NOT_SUPPORTED;
}
