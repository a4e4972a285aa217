#!/usr/bin/env bash
# Configures (once) and builds tfmc in build/ with clang-22, lld and Ninja;
# with --sanitize also the sanitizer copies and fuzz harnesses (san/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TFMC_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld >/dev/null
fi
if [ "${1:-}" = --sanitize ]; then
  # The ordinary build, then the ASan + UBSan copies of the input-facing code
  # and the libFuzzer harnesses, into $BUILD/san/bin (docs/limits.md).
  shift
  ninja -C "$BUILD" "$@"
  ninja -C "$BUILD" tfmc-sanitize "$@"
else
  ninja -C "$BUILD" "$@"
fi
