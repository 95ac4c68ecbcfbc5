#pragma once
// Decoding on the GPU: the prompt through the model at once, then one step per token, each the
// embedding, the layers, the head and the sampler on the device, feeding the drawn ids straight
// back. After the plain launches of the first steps have set every buffer up, the step is
// captured as a CUDA graph per state parity and replayed. Ids reach the host through a ring of
// two chunks while the device keeps going.
#include <optional>

#include "cuda/cuda_graph.hpp"
#include "cuda/gpu_model.hpp"
#include "cuda/gpu_sampler.hpp"
#include "cuda/id_ring.hpp"
#include "engine/engine.hpp"

namespace genrnn::cuda {

class GraphDecoder : public GpuRole<DecodingEngine> {
 public:
  // cuda_graphs false: every step as plain launches (to compare, or to debug).
  GraphDecoder(const std::string& name, const ModelConfig& config, GpuLayers layers, bool tf32, bool cuda_graphs);

 protected:
  void run_prefill(const std::vector<int>& prompts, int length, std::vector<float>& logits) override;
  DecodeStats run_decode(const std::vector<float>& logits, int length, const SamplingOptions& sampling,
                         const std::vector<DrawKey>& keys, const TokenChunkCallback& on_tokens) override;

  // The start of every decode: the first logits onto the device, the streams' keys into the
  // sampler, an empty id ring.
  void start_decode(const std::vector<float>& first_logits, const std::vector<DrawKey>& keys);

  // What a decoder of its own kind (persistent_decoder) shares: the Philox keys, the id ring,
  // the logits to draw from.
  DeviceSampler sampler_;
  IdRing ring_;
  DeviceBuffer<float> logits_;  // [stream][vocab]

 private:
  // One decode step on the device: step_ids_ through the layers and the head, the next ids
  // drawn into step_ids_. The state then advances (outside any capture).
  void step(const SamplingOptions& sampling);

  DeviceBuffer<int> step_ids_;  // [stream]
  bool cuda_graphs_;
};

}  // namespace genrnn::cuda
