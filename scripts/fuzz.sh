#!/usr/bin/env bash
# Builds the libFuzzer harnesses (scripts/build.sh --sanitize) and fuzzes
# TARGET (a name of test/fuzz/corpus/, several separated by commas, or
# "all", the default) for SECONDS
# each (default 60), starting from the committed seed corpus. New inputs go
# to BUILD/fuzz/corpus/TARGET (not the repository); crashes, leaks and
# timeouts to BUILD/fuzz/findings/. Prints one line per target:
#   TARGET: N executions in S s (E/s), K crashes
# and exits non-zero if any target found one. TFMC_FUZZ_JOBS=N fuzzes N
# targets at a time (default 1); TFMC_FUZZ_RUNS=N also stops each target
# after N executions (a count that does not depend on what else the machine
# runs meanwhile). Example (illustrative):
#   bash scripts/fuzz.sh tokenizer-tokenizer-json 600
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${TFMC_BUILD_DIR:-build}
WHICH=${1:-all}
SECONDS_EACH=${2:-60}
if [ "$WHICH" != all ]; then
  for name in ${WHICH//,/ }; do
    if [ ! -d "test/fuzz/corpus/$name" ]; then
      echo "fuzz.sh: no target '$name' (targets: all, $(ls test/fuzz/corpus | paste -sd, -))" >&2
      exit 2
    fi
  done
fi
bash scripts/build.sh --sanitize >/dev/null || exit 1
SAN="$ROOT/$BUILD/san/bin"
OUT="$ROOT/$BUILD/fuzz"
mkdir -p "$OUT/findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/test/fuzz/lsan.supp:print_suppressions=0}
# The artifact the manifest harness loads.
if [ ! -f "$OUT/encoder/manifest.json" ]; then
  "$ROOT/$BUILD/bin/tfmc" examples/models/encoder.toml -o "$OUT/encoder" >/dev/null || exit 1
fi
export TFMC_FUZZ_ARTIFACT="$OUT/encoder"

fuzz_one() { # NAME SEEDS: one target; its summary line on stdout
  local name=$1 seeds=$2 log rc execs rate found start=$SECONDS
  mkdir -p "$OUT/corpus/$name"
  log="$OUT/$name.log"
  "$SAN/fuzz-$name" "$OUT/corpus/$name" "$seeds" -max_total_time="$SECONDS_EACH" \
    ${TFMC_FUZZ_RUNS:+-runs=$TFMC_FUZZ_RUNS} \
    -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$OUT/findings/$name-" >"$log" 2>&1
  rc=$?
  execs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  rate=$(grep -aoE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  found=$(ls "$OUT/findings" | grep -c "^$name-" || true)
  echo "$name: ${execs:-0} executions in $((SECONDS - start)) s (${rate:-0}/s), $found findings (log: $log)"
  [ $rc -eq 0 ] && [ "$found" -eq 0 ]
}

status=0; running=0
for seeds in test/fuzz/corpus/*/; do
  name=$(basename "$seeds")
  [ "$WHICH" = all ] || [[ ",$WHICH," == *",$name,"* ]] || continue
  fuzz_one "$name" "$seeds" &
  running=$((running + 1))
  if [ $running -ge "${TFMC_FUZZ_JOBS:-1}" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ $running -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
