"""A Mixtral-shaped mixture-of-experts decoder (random weights, f32): 8
gated SiLU experts per layer, 2 chosen per token, grouped-query attention.
Side by side with the same thread count:

* prefill of 128 tokens: tfmc (the generator's prefill entry: rows grouped
  per expert, one gated GEMM and one down GEMM per chosen expert) vs
  PyTorch (transformers' MixtralForCausalLM, eager, fp32: its expert loop
  over index lists) vs ONNX Runtime vs llama.cpp (llama-bench pp128, f32
  GGUF) when bench/setup_llamacpp.sh has built it;
* decode tokens/s after a 16-token prompt: tfmc vs PyTorch (its KV cache)
  vs llama.cpp (tg32), and against two memory-bandwidth bounds: a decode
  step must read the attention weights, the router, the LM head and the
  weights of its top_k experts (the *active* bound, tokens/s <= STREAM
  triad / active bytes), while a kernel that reads every expert is held to
  the *dense* bound (all expert bytes). A rate above the dense bound shows
  that the unchosen experts are not read.

ONNX Runtime runs a torch.onnx.export (opset 17, ORT_ENABLE_ALL) of the same
model with the sparse block written densely -- softmax, TopK, renormalise,
ScatterElements into dense routing weights, every expert on every token
weighted by them: the same function in ops ONNX can express, since
exporting Mixtral's own block traces its data-dependent routing
(torch.where, .tolist()) into a graph fixed to the trace's experts. Its
logits are checked against PyTorch's before it is timed.

usage: moe.py WORKDIR --stream BIN [--threads N] [--layers L] [--json OUT]
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
import llama  # noqa: E402
from llama import run_llama_cpp  # noqa: E402

SHAPE = dict(hidden_size=1024, num_attention_heads=16, num_key_value_heads=4,
             intermediate_size=2816, num_local_experts=8, num_experts_per_tok=2,
             vocab_size=32000, max_position_embeddings=1024, rope_theta=1e6,
             rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
PREFILL = 128
STEPS = llama.STEPS


def make_folder(folder, layers):
    """The random-weight Hugging Face folder (f32 safetensors) with a
    32000-token-class BPE tokenizer.json trained on the fortunes text (the
    GGUF converter needs one). Matrices at std 0.02 except the router (std
    0.2), so that tokens spread over the experts rather than all picking
    the same two."""
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    import torch
    from tfmc_ref import read_fortunes, train_bpe_tokenizer
    from transformers import MixtralConfig, MixtralForCausalLM
    doc = train_bpe_tokenizer("sentencepiece", SHAPE["vocab_size"], read_fortunes())
    shape = dict(SHAPE, vocab_size=len(doc["model"]["vocab"]))
    torch.manual_seed(0)
    model = MixtralForCausalLM(MixtralConfig(num_hidden_layers=layers, **shape)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("block_sparse_moe.gate.weight"):
                p.normal_(0.0, 0.2)
    model.save_pretrained(folder, safe_serialization=True)
    llama.save_tokenizer(folder, doc)
    return folder


def weight_bytes(cfg, experts_read):
    """Bytes a decode step reads with `experts_read` experts per layer."""
    d, f, layers, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], \
        cfg["vocab_size"]
    kv = d // cfg["num_attention_heads"] * cfg["num_key_value_heads"]
    e = cfg["num_local_experts"]
    per_layer = 2 * d * d + 2 * d * kv + e * d + experts_read * 3 * d * f
    return 4 * (layers * per_layer + v * d)


def run_tfmc(art, vocab, threads):
    """In a child process: prefill timing and greedy decode steps."""
    out = llama.run_tfmc(art, vocab, threads, prefill=(PREFILL,), repeats=3)
    out["prefill_s"] = out.pop("prefill%d_s" % PREFILL)
    return out


def run_torch(folder, threads, prompt):
    out = llama.run_torch(folder, threads, prompt, cls="MixtralForCausalLM",
                          prefill=(PREFILL,), repeats=3)
    out["prefill_s"] = out.pop("prefill%d_s" % PREFILL)
    return out


def dense_moe_forward(self, hidden_states):
    """MixtralSparseMoeBlock.forward, every expert on every token."""
    import torch
    import torch.nn.functional as F
    b, s, d = hidden_states.shape
    x = hidden_states.view(-1, d)
    logits = self.gate(x)
    p = F.softmax(logits, dim=1, dtype=torch.float)
    w, sel = torch.topk(p, self.top_k, dim=-1)
    w = w / w.sum(dim=-1, keepdim=True)
    dense = torch.zeros_like(p).scatter(1, sel, w)
    out = torch.zeros_like(x)
    for e, expert in enumerate(self.experts):
        out = out + expert(x) * dense[:, e:e + 1]
    return out.view(b, s, d), logits


def run_ort(folder, work, threads, vocab):
    """Prefill time and max logit error vs PyTorch, in a child process."""
    import torch
    from transformers import MixtralForCausalLM
    from transformers.models.mixtral import modeling_mixtral
    from common import best_ms, ort_session
    torch.set_num_threads(threads)
    ids = np.random.default_rng(0).integers(3, vocab, size=(1, PREFILL))
    onnx_path = os.path.join(work, "mixtral-dense.onnx")
    model = MixtralForCausalLM.from_pretrained(folder, torch_dtype=torch.float32,
                                               attn_implementation="eager").eval()
    with torch.inference_mode():
        want = model(torch.from_numpy(ids), use_cache=False).logits.numpy()
    if not os.path.exists(onnx_path):
        modeling_mixtral.MixtralSparseMoeBlock.forward = dense_moe_forward

        class Wrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.m = model

            def forward(self, input_ids):
                return self.m(input_ids, use_cache=False).logits
        with torch.no_grad():
            torch.onnx.export(Wrap().eval(), (torch.from_numpy(ids),), onnx_path,
                              input_names=["input_ids"], output_names=["logits"],
                              opset_version=17)
    sess = ort_session(onnx_path, threads)
    got = sess.run(None, {"input_ids": ids})[0]
    ms = best_ms(lambda: sess.run(None, {"input_ids": ids}), 3, warmup=1)
    return dict(prefill_s=ms / 1e3, max_err=float(np.abs(got - want).max()))


def cpu_name():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--stream", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--json")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--ort-child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(run_tfmc(a.child[0], int(a.child[1]), a.threads)))
        return
    if a.ort_child:
        print(json.dumps(run_ort(a.ort_child[0], a.work, a.threads, int(a.ort_child[1]))))
        return
    os.makedirs(a.work, exist_ok=True)
    folder = make_folder(os.path.join(a.work, "mixtral"), a.layers)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    results = dict(shape=dict(layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"],
                              heads=cfg["num_attention_heads"],
                              kv_heads=cfg["num_key_value_heads"],
                              intermediate=cfg["intermediate_size"],
                              experts=cfg["num_local_experts"],
                              top_k=cfg["num_experts_per_tok"], vocab=cfg["vocab_size"]),
                   threads=a.threads, cpu=cpu_name())
    art = os.path.join(a.work, "mixtral.out")
    if not os.path.exists(os.path.join(art, "manifest.json")):
        t0 = time.perf_counter()
        subprocess.run([tool("tfmc"), folder, "-o", art], check=True)
        results["compile_s"] = time.perf_counter() - t0
    st = subprocess.run([a.stream], check=True, capture_output=True, text=True).stdout
    triad = float(st.split("triad_gbs=")[1].split()[0])
    r = subprocess.run([sys.executable, __file__, a.work, "--stream", a.stream,
                        "--threads", str(a.threads), "--child", art, str(cfg["vocab_size"])],
                       check=True, capture_output=True, text=True)
    ours = json.loads(r.stdout)
    active = weight_bytes(cfg, cfg["num_experts_per_tok"])
    dense = weight_bytes(cfg, cfg["num_local_experts"])
    ours.update(triad_gbs=triad, active_bytes=active, dense_bytes=dense,
                active_bound_tps=triad * 1e9 / active, dense_bound_tps=triad * 1e9 / dense,
                tps=1 / ours["step_s"])
    results["tfmc"] = ours
    lc = run_llama_cpp(folder, a.work, "f32", a.threads, prefill=(PREFILL,), steps=STEPS,
                       name="mixtral")
    results["llama_cpp"] = lc
    r = subprocess.run([sys.executable, __file__, a.work, "--stream", a.stream,
                        "--threads", str(a.threads), "--ort-child", folder,
                        str(cfg["vocab_size"])],
                       capture_output=True, text=True)
    if r.returncode:
        print("ONNX Runtime failed:\n" + r.stderr[-3000:], file=sys.stderr)
    ort = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else None
    results["ort"] = ort
    ref = run_torch(folder, a.threads, ours["prompt"])
    ref["tps"] = 1 / ref["step_s"]
    results["torch"] = ref
    results["tokens_equal"] = ours["tokens"] == ref["tokens"]

    s = results["shape"]
    print("Mixtral-shaped MoE: %(layers)d layers, hidden %(hidden)d, %(heads)d/%(kv_heads)d "
          "heads, %(experts)d experts of %(intermediate)d, top %(top_k)d, vocab %(vocab)d" % s
          + ", %d threads, f32" % a.threads)
    line = "prefill %d: tfmc %.0f ms; PyTorch %.0f ms (tfmc %.2fx)" % (
        PREFILL, 1e3 * ours["prefill_s"], 1e3 * ref["prefill_s"],
        ref["prefill_s"] / ours["prefill_s"])
    if ort:
        line += "; ONNX Runtime (dense routing) %.0f ms (tfmc %.2fx, max logit err %.1e)" % (
            1e3 * ort["prefill_s"], ort["prefill_s"] / ours["prefill_s"], ort["max_err"])
    if lc:
        lc_s = PREFILL / lc["pp%d_tps" % PREFILL]
        line += "; llama.cpp %.0f ms (tfmc %.2fx)" % (1e3 * lc_s, lc_s / ours["prefill_s"])
    print(line)
    line = ("decode: tfmc %.2f tok/s = %.0f%% of the active-weight bound %.2f (%.2f GB/token; "
            "the dense bound, every expert read, is %.2f), triad %.1f GB/s; PyTorch %.2f tok/s "
            "(tfmc %.2fx), greedy tokens %s" % (
                ours["tps"], 100 * ours["tps"] / ours["active_bound_tps"],
                ours["active_bound_tps"], active / 1e9, ours["dense_bound_tps"], triad,
                ref["tps"], ours["tps"] / ref["tps"],
                "equal" if results["tokens_equal"] else "differ"))
    if lc:
        line += "; llama.cpp %.2f tok/s (tfmc %.2fx)" % (lc["tg_tps"], ours["tps"] / lc["tg_tps"])
    print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
