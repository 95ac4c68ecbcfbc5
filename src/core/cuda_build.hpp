#pragma once
// What this build knows of CUDA: src/cuda/cuda_build.cpp in a build with the CUDA engines,
// src/engine/without_cuda.cpp in one without.
#include <string>

#include "genrnn/version.hpp"

namespace genrnn {

// Fills BuildInfo's CUDA fields.
void describe_cuda_build(BuildInfo& info);
// Why this build has no GPU engines ("this build of genrnn has no CUDA ..."); empty when it has.
std::string why_no_cuda_build();

}  // namespace genrnn
