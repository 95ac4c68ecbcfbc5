#pragma once
// Beam search on the GPU, for the GPU decoders' DecodingEngine::search_beams: every step is the
// beam kernels (kernels/beam_ops.hpp) over the live beams' logits, the state of each new beam
// gathered from its parent, and the layers and head over their tokens, all queued on the
// model's stream. The host looks in every kCheckSteps steps to see whether every hypothesis has
// ended, and reads the trace once at the end. After a first step of plain launches, the step is
// captured as a CUDA graph and replayed (its state parity is the same at every step's start).
#include "cuda/gpu_model.hpp"
#include "engine/beam_plan.hpp"

namespace genrnn::cuda {

constexpr int kCheckSteps = 32;

// `model`'s state holds the plan's rows. cuda_graphs false: plain launches throughout.
BeamTrace search_beams_on_device(GpuModel& model, const BeamPlan& plan, bool cuda_graphs);

}  // namespace genrnn::cuda
