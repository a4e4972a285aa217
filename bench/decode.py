"""GPT-2-small decode throughput: tokens/s of one-token decode steps after a
prompt, tfmc (prefill + decode entries, KV cache in the runtime, through the
C API) against PyTorch (transformers' GPT2LMHeadModel with past_key_values),
same weights and thread count; and against the memory-bandwidth bound: a
decode step must read every weight once (GEMM weights + the tied LM head),
so tokens/s <= STREAM bandwidth / weight bytes per token. The greedy tokens
of both are compared.

With --weight-dtype=bf16 (or f16) the GEMM and embedding weights are
stored in 2 bytes: the bound doubles, and the PyTorch baseline stays fp32
(the same model with rounded weights gives the same greedy tokens only
when the rounding does not flip an argmax, so tokens are compared only for
f32). With --quantize=int8|int4[:G] the GEMM weights and the tied LM head
are stored as codes (1 or 1/2 byte) plus one f32 scale per G elements of K
(G = 32 by default), the embedding table stays in --weight-dtype, and the
bound counts those bytes.

usage: decode.py WORKDIR --stream BIN [--threads N] [--prompt P] [--steps S]
                 [--weight-dtype f32|bf16|f16] [--quantize int8|int4[:G]]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "lib"))
sys.path.insert(0, HERE)
from common import tool  # noqa: E402


def gpt2_small(folder):
    """The random-weight GPT-2-small folder bench/e2e.py also uses."""
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel
        torch.manual_seed(0)
        GPT2LMHeadModel(GPT2Config()).eval().save_pretrained(folder, safe_serialization=True)
    return folder


def run_tfmc(art, prompt, steps, threads, repeats):
    """Runs in a child process (no torch/BLAS threads beside ours)."""
    import tfmc_rt as rt
    m = rt.Model(art)
    g = m.generator()
    rt.LIB.tfmc_generator_set_num_threads.argtypes = [rt.C.c_void_p, rt.C.c_int32]
    rt.LIB.tfmc_generator_set_num_threads(g.h, threads)
    best_prefill = best_step = float("inf")
    tokens = None
    for _ in range(repeats):
        g.reset()
        t0 = time.perf_counter()
        g.append(prompt)
        t1 = time.perf_counter()
        out = []
        for i in range(steps):
            nxt = int(np.argmax(g.logits()))
            out.append(nxt)
            if i + 1 < steps:
                g.append([nxt])
        t2 = time.perf_counter()
        best_prefill = min(best_prefill, t1 - t0)
        best_step = min(best_step, (t2 - t1) / (steps - 1))
        tokens = out
    return dict(prefill_s=best_prefill, step_s=best_step, tokens=tokens)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--stream", required=True,
                   help="the bench/stream.c binary, run next to each tfmc measurement")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt", type=int, default=32)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--weight-dtype", default="f32", choices=["f32", "bf16", "f16"])
    p.add_argument("--quantize", default="")
    p.add_argument("--json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    prompt = np.random.default_rng(0).integers(0, 50257, size=a.prompt).tolist()
    if a.child:
        print(json.dumps(run_tfmc(a.child, prompt, a.steps, a.threads, a.repeats)))
        return

    os.makedirs(a.work, exist_ok=True)
    folder = gpt2_small(os.path.join(a.work, "gpt2"))
    mode = a.weight_dtype + ("-" + a.quantize.replace(":", "g") if a.quantize else "")
    art = os.path.join(a.work, "gpt2-small-gen-%s.out" % mode)
    if not os.path.exists(os.path.join(art, "manifest.json")):
        subprocess.run([tool("tfmc"), folder, "-o", art, "--weight-dtype=" + a.weight_dtype]
                       + (["--quantize=" + a.quantize] if a.quantize else []), check=True)
    # STREAM and tfmc interleaved: the machine's bandwidth drifts (it is
    # shared), so each decode measurement is paired with the bandwidth
    # measured just before it.
    pairs = []
    for _ in range(a.repeats):
        st = subprocess.run([a.stream], check=True, capture_output=True, text=True).stdout
        triad = float(st.split("triad_gbs=")[1].split()[0])
        r = subprocess.run([sys.executable, __file__, a.work, "--stream", a.stream,
                            "--threads", str(a.threads), "--prompt", str(a.prompt),
                            "--steps", str(a.steps), "--repeats", "1",
                            "--child", art], check=True, capture_output=True, text=True)
        pairs.append((triad, json.loads(r.stdout)))
    ours = min((o for _, o in pairs), key=lambda o: o["step_s"])

    import torch
    from transformers import GPT2LMHeadModel
    torch.set_num_threads(a.threads)
    model = GPT2LMHeadModel.from_pretrained(folder).eval()
    best_prefill = best_step = float("inf")
    with torch.inference_mode():
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            out = model(torch.tensor([prompt]), use_cache=True)
            t1 = time.perf_counter()
            past, tokens = out.past_key_values, []
            nxt = int(out.logits[0, -1].argmax())
            for i in range(a.steps):
                tokens.append(nxt)
                if i + 1 < a.steps:
                    out = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
                    past, nxt = out.past_key_values, int(out.logits[0, -1].argmax())
            t2 = time.perf_counter()
            best_prefill = min(best_prefill, t1 - t0)
            best_step = min(best_step, (t2 - t1) / (a.steps - 1))

    d, layers, vocab = 768, 12, 50257
    gemm = layers * (d * 3 * d + d * d + 2 * d * 4 * d)  # qkv, out, fc1, fc2
    per = 4 if a.weight_dtype == "f32" else 2
    weight_bytes = per * (gemm + vocab * d)  # + the tied LM head
    if a.quantize:
        bits = 8 if a.quantize.startswith("int8") else 4
        group = int(a.quantize.split(":")[1]) if ":" in a.quantize else 32
        weight_bytes = (bits / 8 + 4 / group) * (gemm + vocab * d)
    fractions = sorted(weight_bytes / o["step_s"] / (t * 1e9) for t, o in pairs)
    fraction = fractions[len(fractions) // 2]
    bandwidth = max(t for t, _ in pairs)
    bound_tps = bandwidth * 1e9 / weight_bytes
    tfmc_tps, torch_tps = 1 / ours["step_s"], 1 / best_step
    same = ours["tokens"] == tokens if mode == "f32" else None
    print("gpt2-small decode, %s weights, prompt %d then %d greedy steps, %d threads" %
          (mode, a.prompt, a.steps, a.threads))
    print("  tfmc    : %7.1f tokens/s  (%.2f ms/token; prefill %.1f ms)" %
          (tfmc_tps, 1e3 * ours["step_s"], 1e3 * ours["prefill_s"]))
    print("  pytorch : %7.1f tokens/s  (%.2f ms/token; prefill %.1f ms)  torch %s" %
          (torch_tps, 1e3 * best_step, 1e3 * best_prefill, torch.__version__))
    print("  speedup : %.2fx   same greedy tokens: %s" % (tfmc_tps / torch_tps, same))
    print("  bound   : %.1f tokens/s (%.0f MB of weights per token at %.1f GB/s, the best "
          "STREAM triad); tfmc reaches %.0f%% of it; paired with the bandwidth measured "
          "next to each run: median %.0f%% (%s)" %
          (bound_tps, weight_bytes / 1e6, bandwidth, 100 * tfmc_tps / bound_tps,
           100 * fraction, ", ".join("%.0f%%" % (100 * f) for f in fractions)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(prompt=a.prompt, steps=a.steps, threads=a.threads,
                           weight_dtype=a.weight_dtype, quantize=a.quantize,
                           tfmc_tokens_per_s=tfmc_tps, torch_tokens_per_s=torch_tps,
                           tfmc_prefill_ms=1e3 * ours["prefill_s"],
                           torch_prefill_ms=1e3 * best_prefill,
                           bandwidth_gbs=bandwidth, weight_bytes=weight_bytes,
                           bound_tokens_per_s=bound_tps,
                           fraction_of_best_bound=tfmc_tps / bound_tps,
                           fraction_of_bound=fraction,
                           paired=[dict(triad_gbs=t, tokens_per_s=1 / o["step_s"])
                                   for t, o in pairs],
                           same_tokens=same, torch=torch.__version__), f, indent=2)


if __name__ == "__main__":
    main()
