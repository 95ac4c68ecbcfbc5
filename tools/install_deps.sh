#!/usr/bin/env bash
# Installs the Debian packages genrnn builds and tests with (the CUDA toolkit with cuDNN is
# expected under /usr/local/cuda already). Extra package names may follow, e.g. `fortunes`.
set -euo pipefail
packages=(cmake ninja-build g++ ccache libcli11-dev nlohmann-json3-dev libgtest-dev libopenblas-dev "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || {
  echo "the CUDA toolkit (nvcc, cuBLAS, cuDNN 9) is needed under /usr/local/cuda" >&2
  exit 1
}
