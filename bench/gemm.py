"""SGEMM benchmark: tfmc's compiled linear (weights packed at compile time)
against numpy.matmul (OpenBLAS) on GPT-2-small shapes and square sizes, both
with the same thread count, as GFLOP/s and as a fraction of the FMA peak
measured by bench/peak_fma.c.

usage: gemm.py WORKDIR [--threads N] [--peak GFLOPS] [--json OUT]
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "lib"))
import tfmc_ref  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import best_ms, ort_session, tool  # noqa: E402

SHAPES = [  # (name, M, K, N)
    ("gpt2 qkv", 128, 768, 2304),
    ("gpt2 attn-out", 128, 768, 768),
    ("gpt2 ffn-up", 128, 768, 3072),
    ("gpt2 ffn-down", 128, 3072, 768),
    ("gpt2 lm-head", 128, 768, 50257),
    ("square 1024", 1024, 1024, 1024),
    ("square 2048", 2048, 2048, 2048),
]


def compile_tfmc(work, name, m, k, n, flags=()):
    """Writes the linear as tfm IR with random weights and compiles it."""
    tag = re.sub(r"\W+", "_", name)
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((n, k)) * 0.02).astype(np.float32)
    tfmc_ref.save_safetensors(os.path.join(work, tag + ".safetensors"), {"w": w})
    mlir = os.path.join(work, tag + ".mlir")
    with open(mlir, "w") as f:
        f.write(f"""func.func @main(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
  %w = tfm.weight "w" : tensor<{n}x{k}xf32>
  %y = tfm.linear %x, %w : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<{m}x{n}xf32>
  return %y : tensor<{m}x{n}xf32>
}}
""")
    art = os.path.join(work, tag + ".out")
    subprocess.run([tool("tfmc"), mlir, "--weights=" + os.path.join(work, tag + ".safetensors"),
                    "-o", art, *flags], check=True)
    x = rng.standard_normal((m, k)).astype(np.float32)
    xpath = os.path.join(work, tag + ".x.npy")
    np.save(xpath, x)
    subprocess.run([tool("tfmc-run"), art, "--entry", "main", "--input", "arg0=" + xpath,
                    "--output-dir", os.path.join(work, tag + ".res")], check=True)
    y = np.load(os.path.join(work, tag + ".res", "result0.npy"))
    return dict(art=art, xpath=xpath, x=x, w=w, y=y)


def time_tfmc(c, threads, runs):
    """Best latency of one tfmc-run process (ms)."""
    out = subprocess.run([tool("tfmc-run"), c["art"], "--entry", "main", "--input",
                          "arg0=" + c["xpath"], "--threads", str(threads), "--bench",
                          str(runs)], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"min ([0-9.]+) ms", out).group(1))


def bench_numpy(x, w, runs):
    wt = np.ascontiguousarray(w.T)
    return best_ms(lambda: x @ wt, runs, warmup=2)


def bench_ort(work, tag, x, w, threads, runs):
    """ONNX Runtime MatMul (W an initializer, ORT_ENABLE_ALL) in a child
    process; returns (best ms, max error vs numpy) or None without ORT."""
    np.save(os.path.join(work, tag + ".w.npy"), np.ascontiguousarray(w.T))
    np.save(os.path.join(work, tag + ".xo.npy"), x)
    r = subprocess.run([sys.executable, __file__, work, "--ort-child", tag, "--threads",
                        str(threads), "--runs", str(runs)], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    out = json.loads(r.stdout)
    return out["ms"], out["err"]


def ort_child(a):
    from onnx import helper, numpy_helper, TensorProto
    w = np.load(os.path.join(a.work, a.ort_child + ".w.npy"))
    x = np.load(os.path.join(a.work, a.ort_child + ".xo.npy"))
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                         [x.shape[0], w.shape[1]])],
                          [numpy_helper.from_array(w, "w")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    sess = ort_session(model.SerializeToString(), a.threads)
    y = sess.run(None, {"x": x})[0]
    err = float(np.abs(y - x.astype(np.float64) @ w.astype(np.float64)).max())
    print(json.dumps(dict(ms=best_ms(lambda: sess.run(None, {"x": x}), a.runs), err=err)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--peak", type=float, default=0.0, help="FMA peak in GFLOP/s")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3, help="processes per measurement")
    p.add_argument("--json")
    p.add_argument("--only", help="substring of the shapes to run")
    p.add_argument("--flag", action="append", default=[], help="extra tfmc flag (tuning)")
    p.add_argument("--ort", action="store_true", help="also time ONNX Runtime's MatMul")
    p.add_argument("--ort-child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.ort_child:
        return ort_child(a)
    os.makedirs(a.work, exist_ok=True)
    rows = []
    print("%-16s %5s %5s %6s | %9s %7s %6s | %9s %7s | %s" %
          ("shape", "M", "K", "N", "tfmc ms", "GFLOP/s", "%peak", "numpy ms", "GFLOP/s",
           "tfmc/numpy"))
    # All tfmc runs first: OpenBLAS's worker threads keep spinning after a
    # numpy call and would steal the cores from a tfmc-run started next.
    # Each artifact is timed in several processes, interleaved, best kept:
    # this shared machine has periods where a process runs at half speed.
    shapes = [sh for sh in SHAPES if not a.only or a.only in sh[0]]
    compiled = [compile_tfmc(a.work, *sh, flags=a.flag) for sh in shapes]
    best = [float("inf")] * len(shapes)
    for _ in range(a.repeats):
        for i, c in enumerate(compiled):
            best[i] = min(best[i], time_tfmc(c, a.threads, a.runs))
    measured = [(ms, c["y"], c["x"], c["w"]) for ms, c in zip(best, compiled)]
    for (name, m, k, n), (ms, y, x, w) in zip(shapes, measured):
        np_ms = bench_numpy(x, w, a.runs)
        # The benchmarked artifact's result against a float64 product.
        err = float(np.abs(y - x.astype(np.float64) @ w.T.astype(np.float64)).max())
        flops = 2.0 * m * k * n
        g, gn = flops / ms / 1e6, flops / np_ms / 1e6
        pk = 100.0 * g / a.peak if a.peak else float("nan")
        ort_r = bench_ort(a.work, re.sub(r"\W+", "_", name), x, w, a.threads,
                          a.runs) if a.ort else None
        extra = ""
        if ort_r:
            extra = "  ORT %.3f ms (%.2fx)" % (ort_r[0], ort_r[0] / ms)
        print("%-16s %5d %5d %6d | %9.3f %7.1f %5.1f%% | %9.3f %7.1f | %.2fx  (max err %.1e)%s" %
              (name, m, k, n, ms, g, pk, np_ms, gn, np_ms / ms, err, extra), flush=True)
        rows.append(dict(shape=name, m=m, k=k, n=n, tfmc_ms=ms, tfmc_gflops=g,
                         peak_fraction=g / a.peak if a.peak else None, numpy_ms=np_ms,
                         numpy_gflops=gn, speedup=np_ms / ms, max_err=err,
                         ort_ms=ort_r[0] if ort_r else None,
                         ort_gflops=flops / ort_r[0] / 1e6 if ort_r else None,
                         ort_err=ort_r[1] if ort_r else None))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(threads=a.threads, peak_gflops=a.peak, rows=rows), f, indent=2)


if __name__ == "__main__":
    main()
