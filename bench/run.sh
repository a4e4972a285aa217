#!/usr/bin/env bash
# Runs the CPU benchmarks on this machine and prints the tables that
# docs/benchmarks.md reports: the FMA peak, SGEMM (tfmc vs numpy/OpenBLAS,
# AVX-512 and AVX2 code), GPT-2-small prefill (tfmc vs PyTorch) and its
# compile time. JSON results go to bench/results/. Assumes the build exists
# (bash scripts/build.sh); takes about five minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TFMC_BUILD_DIR:-build}
THREADS=${THREADS:-2}
PY=.venv/bin/python
WORK=$(mktemp -d /tmp/tfmc-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p bench/results
export TFMC_TOOLS="$BUILD/bin" OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

echo "== machine"
lscpu | grep -E "Model name|^CPU\(s\)|Thread|MHz" || true

echo "== FMA peak (bench/peak_fma.c)"
clang-22 -O2 -march=native -fopenmp bench/peak_fma.c -o "$WORK/peak_native"
clang-22 -O2 -mavx2 -mfma -fopenmp bench/peak_fma.c -o "$WORK/peak_avx2"
peak() { "$1" | awk -v t="$THREADS" -F'gflops=' '$0 ~ "threads="t" " {split($2, a, " "); print a[1]}'; }
PEAK=$(peak "$WORK/peak_native")
PEAK_AVX2=$(peak "$WORK/peak_avx2")
echo "peak with $THREADS threads: $PEAK GFLOP/s (native vectors), $PEAK_AVX2 GFLOP/s (AVX2)"

echo "== SGEMM, native code (vs numpy with OpenBLAS)"
$PY bench/gemm.py "$WORK/gemm" --threads "$THREADS" --peak "$PEAK" \
  --json bench/results/gemm-native.json
echo "== SGEMM, --cpu=x86-64-v3 (AVX2 + FMA, the ISA OpenBLAS uses here)"
$PY bench/gemm.py "$WORK/gemm-avx2" --threads "$THREADS" --peak "$PEAK_AVX2" \
  --flag=--cpu=x86-64-v3 --json bench/results/gemm-avx2.json

echo "== GPT-2-small prefill (vs PyTorch)"
$PY bench/prefill.py "$WORK/prefill" --threads "$THREADS" --json bench/results/prefill.json
