"""GPT-2-small prefill: a Hugging Face GPT-2 folder (124M parameters, random
weights, written by transformers) compiled by tfmc for batch 1 x sequence
128, timed with tfmc-run against PyTorch (transformers' GPT2LMHeadModel,
torch using OpenBLAS) with the same number of threads; the logits of both are
compared. Also reports tfmc's compile time and artifact size.

usage: prefill.py WORKDIR [--threads N] [--seq S] [--json OUT]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np


def tool(name):
    return os.path.join(os.environ.get("TFMC_TOOLS", "build/bin"), name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    folder = os.path.join(a.work, "gpt2-small")
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
        torch.manual_seed(0)
        GPT2LMHeadModel(GPT2Config()).eval().save_pretrained(folder, safe_serialization=True)

    art = os.path.join(a.work, "gpt2-small.out")
    t0 = time.perf_counter()
    subprocess.run([tool("tfmc"), folder, "--seq-len=%d" % a.seq, "-o", art], check=True)
    compile_s = time.perf_counter() - t0
    size_mb = sum(os.path.getsize(os.path.join(art, f)) for f in os.listdir(art)) / 2**20

    ids = np.random.default_rng(0).integers(0, 50257, size=(1, a.seq)).astype(np.int64)
    ids_path = os.path.join(a.work, "ids.npy")
    np.save(ids_path, ids)
    # tfmc first (see bench/gemm.py: a BLAS in this process would compete).
    best = float("inf")
    for _ in range(a.repeats):
        out = subprocess.run([tool("tfmc-run"), art, "--input", "input_ids=" + ids_path,
                              "--threads", str(a.threads), "--bench", str(a.runs)],
                             check=True, capture_output=True, text=True).stdout
        best = min(best, float(re.search(r"min ([0-9.]+) ms", out).group(1)))
    subprocess.run([tool("tfmc-run"), art, "--input", "input_ids=" + ids_path,
                    "--output-dir", os.path.join(a.work, "res")], check=True)
    got = np.load(os.path.join(a.work, "res", "logits.npy"))

    import torch
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(a.threads)
    model = GPT2LMHeadModel.from_pretrained(folder).eval()
    x = torch.from_numpy(ids)
    times = []
    with torch.inference_mode():
        for _ in range(3):
            want = model(x).logits
        for _ in range(a.runs * a.repeats):
            t = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t) * 1e3)
    torch_ms = min(times)
    err = float(np.abs(got - want.numpy()).max())
    params = sum(p.numel() for p in model.parameters())
    flops = 2.0 * a.seq * params  # matmul-dominated estimate (tied head counted once)
    print("gpt2-small prefill, batch 1 x seq %d, %d threads, %.1fM parameters" %
          (a.seq, a.threads, params / 1e6))
    print("  tfmc    : %8.2f ms  (%.0f GFLOP/s)" % (best, flops / best / 1e6))
    print("  pytorch : %8.2f ms  (%.0f GFLOP/s)  torch %s" %
          (torch_ms, flops / torch_ms / 1e6, torch.__version__))
    print("  speedup : %.2fx   max |logits diff| %.2e" % (torch_ms / best, err))
    print("  compile : %.1f s, artifact %.0f MiB" % (compile_s, size_mb))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(seq=a.seq, threads=a.threads, params=params, tfmc_ms=best,
                           torch_ms=torch_ms, speedup=torch_ms / best, max_err=err,
                           compile_s=compile_s, artifact_mib=size_mb,
                           torch=torch.__version__), f, indent=2)


if __name__ == "__main__":
    main()
