#pragma once
// Sampling on the device: the Philox keys of every stream and the sampling kernel, which picks
// what the CPU sampler picks (genrnn::sample_token). The graph decoder draws with it, and so
// does the benchmark's sampler alone.
#include <vector>

#include "cuda/device_buffer.hpp"
#include "cuda/device_context.hpp"
#include "engine/engine.hpp"
#include "genrnn/device.hpp"
#include "kernels/sampling_ops.hpp"

namespace genrnn::cuda {

class DeviceSampler {
 public:
  explicit DeviceSampler(const DeviceContext& context)
      : context_(context), keys_(context.stream()), options_(context.stream()) {}

  // The streams' Philox keys, draw counters (at their positions) and sampling options.
  void set_streams(const std::vector<StreamDraw>& streams);
  // ids[s] = stream s's draw from logits [streams][vocab] (device), then every counter + 1 on
  // the device, so a captured CUDA graph can repeat the call (and, the options being read from
  // the device, with other options set since).
  void draw(const float* logits, int vocab, int* ids);
  // The keys and options on the device, for kernels that draw themselves.
  const SamplingOptions* options() const { return options_.data(); }
  const uint64_t* seeds() const { return keys_.data(); }
  const uint64_t* stream_ids() const { return keys_.data() + streams_; }
  uint64_t* counters() { return keys_.data() + 2 * static_cast<std::size_t>(streams_); }

 private:
  const DeviceContext& context_;
  int streams_ = 0;
  DeviceBuffer<uint64_t> keys_;  // [seeds | stream ids | draw counters], `streams_` each
  DeviceBuffer<SamplingOptions> options_;
};

// The benchmark's sampler alone.
class GpuSampler final : public TokenSampler {
 public:
  explicit GpuSampler(const EngineOptions& options);
  int gpu() const override { return context_.gpu(); }
  double time_seconds(const std::function<void()>& work) override { return context_.seconds(work); }

 protected:
  void write_logits(const std::vector<float>& logits) override;
  void run_draw(const std::vector<StreamDraw>& streams) override;

 private:
  DeviceContext context_;
  DeviceSampler sampler_;
  DeviceBuffer<float> logits_;
  DeviceBuffer<int> ids_;
};

}  // namespace genrnn::cuda
