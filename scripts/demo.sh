#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job on a bundled example:
# the IR of one encoder layer goes through tfmc-opt (expanded into primitives,
# then canonicalised).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
BUILD=${TFMC_BUILD_DIR:-build}
echo "== tfmc-opt examples/mlir/encoder_layer.mlir -tfm-decompose -canonicalize -cse"
"$BUILD/bin/tfmc-opt" examples/mlir/encoder_layer.mlir -tfm-decompose -canonicalize -cse
