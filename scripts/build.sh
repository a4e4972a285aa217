#!/usr/bin/env bash
# Configures (once) and builds tfmc in build/ with clang-22, lld and Ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TFMC_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld >/dev/null
fi
ninja -C "$BUILD" "$@"
