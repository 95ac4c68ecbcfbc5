#!/usr/bin/env bash
# Installs the Debian packages genrnn builds and tests with. The CUDA toolkit with cuDNN, for
# the GPU engines, is expected under /usr/local/cuda already; without it genrnn builds with the
# CPU engine alone. The Python package's tests add pytest from PyPI, in their own virtual
# environments (tools/test_python.sh). Extra package names may follow, e.g. `fortunes`.
set -euo pipefail
packages=(cmake ninja-build g++ ccache libcli11-dev nlohmann-json3-dev libgtest-dev libopenblas-dev libdnnl-dev
          libboost-context-dev clang libclang-rt-14-dev clang-format libopenmpi-dev openmpi-bin
          libcpp-httplib-dev chromium
          python3-dev python3-venv python3-numpy python3-torch python3-matplotlib "$@")
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
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] ||
  echo "no CUDA toolkit under /usr/local/cuda: the build will have the CPU engine only (the GPU engines need CUDA 13 with cuDNN 9)" >&2
