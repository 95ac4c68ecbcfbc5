#!/usr/bin/env bash
# Configures and builds genrnn into build/ (Release; CUDA architectures 80 and 90 unless
# CMAKE_CUDA_ARCHITECTURES is set in the environment).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
arch_flag=()
[ -n "${CMAKE_CUDA_ARCHITECTURES:-}" ] && arch_flag=(-DCMAKE_CUDA_ARCHITECTURES="$CMAKE_CUDA_ARCHITECTURES")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${arch_flag[@]}" >/dev/null
cmake --build build -j"$(nproc)"
