#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job on a bundled example:
# compiles the GPT-style decoder of examples/models/decoder.toml to a CPU
# artifact, runs it on a token sequence and times it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
BUILD=${TFMC_BUILD_DIR:-build}
OUT="$BUILD/demo/decoder"
TOKENS=$(seq -s, 1 37)
mkdir -p "$BUILD/demo"
echo "== tfmc examples/models/decoder.toml -o $OUT"
"$BUILD/bin/tfmc" examples/models/decoder.toml -o "$OUT"
ls -l "$OUT"
echo "== tfmc-run $OUT --list"
"$BUILD/bin/tfmc-run" "$OUT" --list
echo "== tfmc-run $OUT --tokens 1,...,37"
"$BUILD/bin/tfmc-run" "$OUT" --tokens "$TOKENS"
echo "== tfmc-run $OUT --tokens 1,...,37 --bench 100"
"$BUILD/bin/tfmc-run" "$OUT" --tokens "$TOKENS" --bench 100
