#!/usr/bin/env bash
# Sets up this machine, builds, and runs the whole test suite. GPU tests skip, saying why,
# where no GPU is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
