#!/usr/bin/env bash
# Sets up this machine, builds, and runs the whole test suite three times: the default build
# (with the CUDA engines where the toolkit is found; GPU tests skip, saying why, where no GPU is
# usable; and the GPU suite once more on the host SIMT executor, ctest label simt), followed,
# with the CUDA engines, by the GPU machine's build and GPU tests from .deps alone
# (tools/device_check.sh dry-run), the CPU-only build (GENRNN_CUDA=OFF, built and run with nvcc
# off PATH), and the CPU-only build under AddressSanitizer and UndefinedBehaviorSanitizer with
# clang, where the libFuzzer targets also fuzz for GENRNN_FUZZ_SECONDS each (ctest label fuzz);
# then the Python package, built as a wheel and tested with pytest (tools/test_python.sh). First
# of all, the C++ and CUDA sources must be as tools/format.sh leaves them.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/format.sh --check  # the code follows .clang-format
tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
# The GPU machine's build from .deps, where this machine builds the CUDA engines at all.
if [ -x build/tests/genrnn_gpu_tests ]; then tools/device_check.sh dry-run; fi
tools/build.sh cpu
tools/without_cuda.sh ctest --test-dir build-cpu --output-on-failure -j"$(nproc)"
tools/build.sh sanitize
tools/without_cuda.sh ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)"
tools/test_python.sh
