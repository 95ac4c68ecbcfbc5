#pragma once
// The persistent decoder: the graph decoder's prefill, then the whole token loop on the device,
// one cooperative launch per chunk of ids (kernels/persistent_ops.hpp), the recurrent weights
// resident in the blocks' shared memory for each launch. Where the model or the batch does not
// fit, or the GPU lacks cooperative launches, it decodes as the graph decoder does, and says why.
#include <string>

#include "cuda/graph_decoder.hpp"
#include "genrnn/parameters.hpp"
#include "kernels/persistent_ops.hpp"

namespace genrnn::cuda {

class PersistentDecoder final : public GraphDecoder {
 public:
  PersistentDecoder(const std::string& name, const ModelConfig& config, GpuLayers layers, const EngineOptions& options);

 protected:
  // Also keeps a copy in PyTorch's layout, and layer 0's input projections for every token.
  void write_parameters(const std::vector<float>& flat) override;
  DecodeStats run_decode(const std::vector<float>& logits, int length, const std::vector<StreamDraw>& streams,
                         const TokenChunkCallback& on_tokens) override;

 private:
  // The kernel's split for `batch` streams, or why the persistent kernel cannot decode them.
  kernels::PersistentShape shape_for(int batch, std::string& why) const;
  kernels::PersistentModel device_model() const;
  // The graph decoder's decode, its stats saying why the persistent one did not run.
  DecodeStats decode_as_graph_decoder(const std::vector<float>& logits, int length,
                                      const std::vector<StreamDraw>& streams, const TokenChunkCallback& on_tokens,
                                      const std::string& why);

  ParameterOffsets offsets_;
  DeviceBuffer<float> weights_;      // PyTorch's flat layout
  DeviceBuffer<float> input_table_;  // [V][G*H]
  DeviceBuffer<int> next_ids_;       // [stream]
};

}  // namespace genrnn::cuda
