#pragma once
// Decoding on the GPU: the prompt through the model at once, then one step per token, each the
// embedding, the layers, the head and the sampler on the device, feeding the drawn ids straight
// back. After the plain launches of the first steps have set every buffer up, the step is
// captured as a CUDA graph per state parity and replayed. Ids reach the host through a ring of
// two chunks while the device keeps going.
#include <array>
#include <optional>

#include "cuda/cuda_graph.hpp"
#include "cuda/gpu_model.hpp"
#include "cuda/gpu_sampler.hpp"
#include "cuda/id_ring.hpp"
#include "engine/engine.hpp"

namespace genrnn::cuda {

class GraphDecoder : public GpuRole<DecodingEngine> {
 public:
  // options.cuda_graphs false: every step as plain launches (to compare, or to debug).
  GraphDecoder(const std::string& name, const ModelConfig& config, GpuLayers layers, const EngineOptions& options);
  bool searches_beams() const override { return true; }

 protected:
  void run_prefill(const std::vector<int>& prompts, int length, std::vector<float>& logits) override;
  DecodeStats run_decode(const std::vector<float>& logits, int length, const std::vector<StreamDraw>& streams,
                         const TokenChunkCallback& on_tokens) override;
  // On the device (cuda/device_beam_search.hpp), as a CUDA graph unless cuda_graphs is off.
  BeamTrace run_beam_search(const BeamPlan& plan) override;

  // The start of every decode: the first logits onto the device, the streams' keys, positions
  // and options into the sampler, an empty id ring.
  void start_decode(const std::vector<float>& first_logits, const std::vector<StreamDraw>& streams);

  // What a decoder of its own kind (persistent_decoder) shares: the Philox keys, the id ring,
  // the logits to draw from.
  DeviceSampler sampler_;
  IdRing ring_;
  DeviceBuffer<float> logits_;  // [stream][vocab]

 private:
  // One decode step on the device: step_ids_ through the layers and the head, the next ids
  // drawn into step_ids_. The state then advances (outside any capture).
  void step();

  // What a captured step depends on beyond the buffers' contents (the sampling options are
  // one: the sampler reads them from the device): the arguments of its kernels.
  struct StepKey {
    int streams = 0;
    uint64_t allocations = 0;  // device_allocations() at the capture: no buffer has moved since
    bool operator==(const StepKey& other) const;
  };
  StepKey step_key() const;
  // How a step graph came to be, cheapest first (DecodeStats::graphs).
  enum class GraphSource { none, reused, updated, captured };
  // The step for the current state parity replayed: as it is when its key is `key`, captured
  // again (and updated, or instantiated) when not. Returns which.
  GraphSource replay_step(const StepKey& key);

  // The step captured per state parity, kept from one decode to the next.
  struct StepGraph {
    std::optional<CapturedGraph> graph;
    StepKey key;
  };
  std::array<StepGraph, 2> step_graphs_;
  DeviceBuffer<int> step_ids_;  // [stream]
  bool cuda_graphs_;
};

}  // namespace genrnn::cuda
