#!/usr/bin/env bash
# Installs every Debian package tfmc needs (skipping those present) and creates
# the Python environment the tests use. Idempotent; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # Toolchain: LLVM/MLIR 22 (shared libMLIR.so/libLLVM.so), clang, lld, OpenMP.
  clang-22 libclang-rt-22-dev lld-22 liblld-22-dev llvm-22-dev llvm-22-tools libmlir-22-dev
  mlir-22-tools libomp-22-dev cmake ninja-build pkgconf git ca-certificates
  # Frontends and tests.
  libtomlplusplus-dev nlohmann-json3-dev libgtest-dev
  # Vulkan: loader, lavapipe (CPU device), validation layers, glslang, SPIRV-Tools.
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  glslang-dev glslang-tools spirv-tools
  # Runtime: Unicode tables for the tokenizers, PNG and fonts for attention
  # maps, the C/C++ start files --emit=exe links with.
  libicu-dev libpng-dev libjpeg-dev libfreetype-dev fonts-dejavu-core libc6-dev
  libstdc++-12-dev
  # Reference numerics, plots, graph rendering, demo corpus.
  python3 python3-venv python3-dev python3-torch python3-numpy python3-matplotlib
  libopenblas0-pthread graphviz fortunes fortunes-min libonnx-testdata
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#PACKAGES[@]} Debian packages present"
fi

# Python environment for reference tests: Debian's torch/numpy stay visible.
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
REQ=scripts/requirements.txt
STAMP="$VENV/.requirements.stamp"
if [ -s "$REQ" ] && ! cmp -s "$REQ" "$STAMP"; then
  echo "setup: installing Python packages from $REQ"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$STAMP"
fi
