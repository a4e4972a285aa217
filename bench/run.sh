#!/usr/bin/env bash
# The benchmark harness: sets up the peers (bench/setup.sh), then measures
# the machine (FMA peak, STREAM bandwidth) and every case side by side with
# the same thread count -- SGEMM (tfmc vs numpy/OpenBLAS vs ONNX Runtime),
# attention 128..8192 (fused vs unfused vs ORT vs PyTorch, time and peak
# RSS), end to end (BERT-base, all-MiniLM-L6-v2, GPT-2-small prefill at 128
# and 512, a tiny model for per-run overhead; vs ORT and PyTorch, with
# compile times), the Python API's per-call overhead (vs ORT's and
# OpenVINO's), GPT-2-small decode (vs PyTorch with its KV cache and vs the
# bandwidth bound), a TinyLlama-shaped 1.1B Llama (prefill 128/512 and
# decode at f32 and f16 vs PyTorch, llama.cpp and the bandwidth bound), a
# Mixtral-shaped mixture of experts (prefill vs PyTorch, ONNX Runtime and
# llama.cpp; decode vs the active-weight bandwidth bound) --
# writes JSON to bench/results/ and regenerates docs/benchmarks.md with its
# plots (bench/report.py). About 50 minutes on 2 cores (the Llama case 25).
# THREADS=N to change the thread count; CASES="gemm attention e2e python
# decode llama moe" to run a subset (the report uses the results present).
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/setup.sh
BUILD=${TFMC_BUILD_DIR:-build}
THREADS=${THREADS:-2}
CASES=${CASES:-"gemm attention e2e python decode llama moe"}
PY=bench/.venv/bin/python
WORK=$(mktemp -d /tmp/tfmc-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R=bench/results
mkdir -p "$R"
export TFMC_TOOLS="$BUILD/bin" OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
has() { [[ " $CASES " == *" $1 "* ]]; }

echo "== machine"
lscpu | grep -E "Model name|^CPU\(s\)|Thread|MHz" || true
clang-22 -O2 -march=native -fopenmp bench/peak_fma.c -o "$WORK/peak_native"
clang-22 -O2 -mavx2 -mfma -fopenmp bench/peak_fma.c -o "$WORK/peak_avx2"
clang-22 -O2 -march=native -fopenmp bench/stream.c -o "$WORK/stream"
# Limits are the best of 3 runs: on this shared machine a process sometimes
# runs at half speed for its whole life.
best() { sort -g | tail -1; }
peak() {
  for _ in 1 2 3; do
    "$1" | awk -v t="$THREADS" -F'gflops=' '$0 ~ "threads="t" " {split($2, a, " "); print a[1]}'
  done | best
}
PEAK=$(peak "$WORK/peak_native")
PEAK_AVX2=$(peak "$WORK/peak_avx2")
STREAMS=$(for _ in 1 2 3; do "$WORK/stream"; done)
TRIAD=$(echo "$STREAMS" | sed -E 's/.*triad_gbs=([0-9.]+).*/\1/' | best)
READ=$(echo "$STREAMS" | sed -E 's/.*read_gbs=([0-9.]+).*/\1/' | best)
echo "FMA peak, $THREADS threads: $PEAK GFLOP/s (native vectors), $PEAK_AVX2 GFLOP/s (AVX2)"
echo "memory bandwidth: triad $TRIAD GB/s, read $READ GB/s"
$PY - "$R/machine.json" "$THREADS" "$PEAK" "$PEAK_AVX2" "$TRIAD" "$READ" <<'PYEOF'
import json, platform, subprocess, sys
out, threads, peak, peak2, triad, read = sys.argv[1:]
cpu = [l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True,
       text=True).stdout.splitlines() if l.startswith("Model name")]
json.dump(dict(cpu=cpu[0] if cpu else platform.processor(), threads=int(threads),
               peak_gflops=float(peak), peak_avx2_gflops=float(peak2),
               triad_gbs=float(triad), read_gbs=float(read)), open(out, "w"), indent=2)
PYEOF

if has gemm; then
  echo "== SGEMM, native code (vs numpy/OpenBLAS and ONNX Runtime)"
  $PY bench/gemm.py "$WORK/gemm" --threads "$THREADS" --peak "$PEAK" --ort \
    --json "$R/gemm-native.json"
  echo "== SGEMM, --cpu=x86-64-v3 (AVX2 + FMA, the ISA OpenBLAS uses here)"
  $PY bench/gemm.py "$WORK/gemm-avx2" --threads "$THREADS" --peak "$PEAK_AVX2" \
    --flag=--cpu=x86-64-v3 --json "$R/gemm-avx2.json"
fi
if has attention; then
  echo "== attention, 12 heads x 64"
  $PY bench/attention.py "$WORK/attention" --threads "$THREADS" --json "$R/attention.json"
fi
if has e2e; then
  echo "== end to end"
  $PY bench/e2e.py "$WORK/e2e" --threads "$THREADS" --json "$R/e2e.json"
fi
if has python; then
  echo "== Python per-call overhead (tfmc vs ONNX Runtime vs OpenVINO)"
  $PY bench/python_overhead.py "$WORK/python" --threads "$THREADS" \
    --json "$R/python.json"
fi
if has decode; then
  echo "== GPT-2-small decode with a KV cache"
  $PY bench/decode.py "$WORK/e2e" --threads "$THREADS" --stream "$WORK/stream" \
    --json "$R/decode.json"
  echo "== GPT-2-small decode, bf16 weights"
  $PY bench/decode.py "$WORK/e2e" --threads "$THREADS" --stream "$WORK/stream" \
    --weight-dtype=bf16 --json "$R/decode-bf16.json"
fi
if has llama; then
  echo "== TinyLlama-shaped 1.1B Llama: prefill and decode, f32 and f16 (llama.cpp: bench/setup_llamacpp.sh)"
  bash bench/setup_llamacpp.sh
  $PY bench/llama.py "$WORK/llama" --threads "$THREADS" --stream "$WORK/stream" \
    --json "$R/llama.json"
fi
if has moe; then
  echo "== Mixtral-shaped mixture of experts: prefill and decode, f32"
  bash bench/setup_llamacpp.sh
  $PY bench/moe.py "$WORK/moe" --threads "$THREADS" --stream "$WORK/stream" \
    --json "$R/moe.json"
fi
echo "== docs/benchmarks.md"
$PY bench/report.py "$R" docs/benchmarks.md
