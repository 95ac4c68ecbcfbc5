#!/usr/bin/env bash
# Runs a command with no CUDA compiler in reach: every PATH folder holding nvcc is dropped and
# CUDACXX is unset. The CPU-only build is built and tested this way, so it cannot need CUDA.
set -euo pipefail
kept=()
IFS=: read -ra folders <<<"$PATH"
for folder in "${folders[@]}"; do
  [ -x "$folder/nvcc" ] || kept+=("$folder")
done
PATH=$(IFS=:; echo "${kept[*]}")
export PATH
unset CUDACXX
exec "$@"
