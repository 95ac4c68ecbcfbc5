#!/usr/bin/env bash
# Configures and builds genrnn (Release).
#   tools/build.sh        into build/, with the CUDA engines where the CUDA toolkit and cuDNN are
#                         found (architectures 80 and 90 unless CMAKE_CUDA_ARCHITECTURES is set
#                         in the environment), the CPU engine alone otherwise
#   tools/build.sh cpu    into build-cpu/, the CPU engine alone, with g++ and nvcc off PATH (the
#                         host SIMT executor's tests are the default build's)
#   tools/build.sh sanitize
#                         into build-sanitize/, the CPU engine alone with clang, under AddressSanitizer
#                         and UndefinedBehaviorSanitizer, with the libFuzzer targets (tests/fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-default}" in
  default)
    export PATH="$PATH:/usr/local/cuda/bin"
    dir=build
    args=()
    [ -n "${CMAKE_CUDA_ARCHITECTURES:-}" ] && args+=(-DCMAKE_CUDA_ARCHITECTURES="$CMAKE_CUDA_ARCHITECTURES")
    ;;
  cpu)
    # Nothing of CUDA in reach: the build must not need it.
    [ -z "${GENRNN_WITHOUT_CUDA:-}" ] && GENRNN_WITHOUT_CUDA=1 exec tools/without_cuda.sh "$0" cpu
    dir=build-cpu
    # The host SIMT executor's suite runs in the default build already: not twice.
    args=(-DGENRNN_CUDA=OFF -DGENRNN_SIMT=OFF -DGENRNN_MPI=OFF)
    ;;
  sanitize)
    [ -z "${GENRNN_WITHOUT_CUDA:-}" ] && GENRNN_WITHOUT_CUDA=1 exec tools/without_cuda.sh "$0" sanitize
    dir=build-sanitize
    # Optimised, with line numbers for the reports; ASan's stack traces want frame pointers.
    args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
          -DGENRNN_CUDA=OFF -DGENRNN_SIMT=OFF -DGENRNN_MPI=OFF -DGENRNN_SANITIZE=ON -DGENRNN_FUZZ=ON)
    ;;
  *) echo "usage: tools/build.sh [cpu|sanitize]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
