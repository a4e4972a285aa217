#!/usr/bin/env bash
# The sanitizer step of the test command (docs/limits.md): on the ASan +
# UBSan copies that `scripts/build.sh --sanitize` puts in BUILD/san/bin, runs
# the C++ unit tests, replays every fuzz target's seed corpus
# (test/fuzz/corpus/TARGET) and runs the frontend and runtime
# error tests through the sanitized tfmc and tfmc-run. Any sanitizer report
# aborts the program it happens in, which fails its check. Ends with one
# line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${TFMC_BUILD_DIR:-build}
SAN="$ROOT/$BUILD/san/bin"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/test/fuzz/lsan.supp:print_suppressions=0}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

passed=0; failed=0
check() { # NAME COMMAND...: one check, its output kept only when it fails
  local name=$1; shift
  if "$@" >"$WORK/log" 2>&1; then
    passed=$((passed + 1)); echo "PASS: $name"
  else
    failed=$((failed + 1)); echo "FAIL: $name"; tail -40 "$WORK/log"
  fi
}

# The artifacts the runtime tests and the manifest harness load (compiled
# by the ordinary tfmc: what is checked is the loading).
for target in cpu vulkan; do
  out="$WORK/encoder"; [ $target = cpu ] || out="$WORK/encoder.vulkan"
  "$ROOT/$BUILD/bin/tfmc" examples/models/encoder.toml --target=$target \
    -o "$out" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
done

check unit-tests "$SAN/tfm-unit-tests" --gtest_brief=1
# Leaks are checked everywhere except where Mesa's Vulkan driver is loaded:
# on some machines lavapipe leaves blocks that LeakSanitizer reports from
# "<unknown module>" (the driver is dlclose'd before the report), which no
# suppression can name. All of tfmc's code is linked into the sanitized
# binaries themselves, so those reports are never ours; ASan and UBSan stay
# on for the Vulkan runs.
NO_LEAKS="ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}"
check runtime-tests env TFMC_TEST_ARTIFACT="$WORK/encoder" \
  "$SAN/tfm-runtime-tests" --gtest_brief=1 --gtest_filter=-VulkanFault*
check runtime-tests-vulkan env "$NO_LEAKS" TFMC_TEST_ARTIFACT="$WORK/encoder" \
  "$SAN/tfm-runtime-tests" --gtest_brief=1 --gtest_filter=VulkanFault*

for corpus in test/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  check "fuzz-$name corpus" env TFMC_FUZZ_ARTIFACT="$WORK/encoder" \
    "$SAN/fuzz-$name" -runs=0 -timeout=60 -artifact_prefix="$WORK/" "$corpus"
done

# The error-path tests, on the sanitized tools; test/Runtime is the only
# directory among them that runs Vulkan artifacts (manifest-signature.test).
lit_check() { # NAME ENV-ASSIGNMENT TEST...
  local name=$1 envset=$2; shift 2
  local args=() t
  for t in "$@"; do args+=("$BUILD/test/$t"); done
  check "lit error tests ($name: $*)" env "$envset" \
    /usr/lib/llvm-22/bin/lit -sv --param tfm_tools_dir="$SAN" "${args[@]}"
}
lit_check frontends+tools "ASAN_OPTIONS=$ASAN_OPTIONS" \
  Frontends/bad-inputs.test Frontends/toml-errors.test \
  Frontends/tokenizer.test Tools/input-files.test Tools/artifact-dir.test
lit_check runtime "$NO_LEAKS" Runtime

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
