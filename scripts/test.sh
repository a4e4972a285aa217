#!/usr/bin/env bash
# Sets everything up, builds, runs every test suite (lit: dialect, passes,
# frontends, integration and end-to-end tests; ctest: C++ unit tests; the
# sanitizer step, scripts/sanitize-check.sh; pytest: the Python package,
# installed into .venv first) and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${TFMC_BUILD_DIR:-build}

bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/build.sh --sanitize || { echo "0 passed, 1 failed"; exit 1; }
export TFMC_VENV="$ROOT/.venv"

passed=0; failed=0
LOG=$(mktemp)

echo "== lit"
/usr/lib/llvm-22/bin/lit -sv "$BUILD/test" 2>&1 | tee "$LOG"
count() { grep -E "^ *$1 *:" "$LOG" | sed -E 's/^[^:]*: *([0-9]+).*/\1/' | head -1; }
p=$(count Passed); f=0
for kind in Failed Unresolved 'Timed Out' 'Unexpectedly Passed'; do
  n=$(count "$kind")
  f=$((f + ${n:-0}))
done
passed=$((passed + ${p:-0})); failed=$((failed + f))
if ! grep -qE '^ *Passed *:' "$LOG"; then failed=$((failed + 1)); fi

echo "== ctest"
(cd "$BUILD" && ctest --output-on-failure) 2>&1 | tee "$LOG"
line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$LOG")
if [ -n "$line" ]; then
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/')
  passed=$((passed + total - f)); failed=$((failed + f))
else
  failed=$((failed + 1))
fi

echo "== sanitizers (ASan + UBSan: unit tests, fuzz corpora, error tests)"
bash scripts/sanitize-check.sh 2>&1 | tee "$LOG"
line=$(tail -1 "$LOG")
if echo "$line" | grep -qE '^[0-9]+ passed, [0-9]+ failed$'; then
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed}
  passed=$((passed + p)); failed=$((failed + f))
else
  failed=$((failed + 1))
fi

echo "== python package (pip install ., pytest)"
if "$TFMC_VENV/bin/python" -m pip install -q --disable-pip-version-check \
    --no-build-isolation --config-settings=build-dir="$BUILD" . 2>&1 | tee "$LOG"; then
  TFMC_TOOLS="$ROOT/$BUILD/bin" "$TFMC_VENV/bin/python" -m pytest -q \
    -p no:cacheprovider test/python 2>&1 | tee "$LOG"
  summary=$(tail -1 "$LOG")
  p=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
  f=$(echo "$summary" | grep -oE '[0-9]+ (failed|errors?)' |
      awk '{ n += $1 } END { print n + 0 }')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ -z "$p" ]; then failed=$((failed + 1)); fi
else
  failed=$((failed + 1))
fi
rm -f "$LOG"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
