"""A Llama-shaped model of about 1B parameters (TinyLlama-1.1B's shape: 22
layers, hidden 2048, 32 query heads over 4 key/value heads, SwiGLU 5632,
untied head; random weights, a 32000-token-class BPE tokenizer.json trained
on the fortunes text), side by side with the same thread count:

* prefill of 128 and 512 tokens: tfmc (the generator's prefill entry) vs
  PyTorch (transformers' LlamaForCausalLM, eager attention, fp32) vs
  llama.cpp (llama-bench pp128 / pp512);
* decode tokens/s after a 16-token prompt: tfmc vs PyTorch (its KV cache)
  vs llama.cpp (tg32), and vs the memory-bandwidth bound: a decode step
  reads every GEMM weight and the LM head once, so tokens/s <= STREAM
  triad bandwidth / weight bytes per token.

tfmc and llama.cpp run at f32 and f16 weights (tfmc --weight-dtype=auto
keeps the checkpoint's f16; llama.cpp converts with convert_hf_to_gguf.py
--outtype f16/f32); PyTorch at f32 only (its CPU f16 GEMMs are not a fair
peer). llama.cpp comes from bench/setup_llamacpp.sh; without it its
columns are absent.

usage: llama.py WORKDIR --stream BIN [--threads N] [--layers L] [--json OUT]
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

LLAMA_CPP = os.path.join(HERE, ".llama.cpp")
SHAPE = dict(hidden_size=2048, num_attention_heads=32, num_key_value_heads=4,
             intermediate_size=5632, max_position_embeddings=2048, rope_theta=10000.0,
             rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
PREFILL = (128, 512)
PROMPT, STEPS = 16, 32


def make_folder(folder, layers):
    """The random-weight Hugging Face folder (float16 safetensors)."""
    if os.path.exists(os.path.join(folder, "model.safetensors.index.json")) or \
            os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    import torch
    from tfmc_ref import read_fortunes, train_bpe_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM
    doc = train_bpe_tokenizer("sentencepiece", 32000, read_fortunes())
    vocab = len(doc["model"]["vocab"])
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, num_hidden_layers=layers, **SHAPE)
    model = LlamaForCausalLM(cfg).eval()
    os.makedirs(folder, exist_ok=True)
    model.half().save_pretrained(folder, safe_serialization=True)
    save_tokenizer(folder, doc)
    return folder


def save_tokenizer(folder, doc):
    """tokenizer.json and the tokenizer_config.json the GGUF converter reads."""
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>",
                   "eos_token": "</s>", "unk_token": "<unk>"}, f)


def weight_bytes(cfg, per):
    d, f, layers, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], \
        cfg["vocab_size"]
    kv = d // cfg["num_attention_heads"] * cfg["num_key_value_heads"]
    return per * (layers * (2 * d * d + 2 * d * kv + 3 * d * f) + v * d)


def run_tfmc(art, vocab, threads, prefill=PREFILL, repeats=2):
    """In a child process: prefill timings and greedy decode steps."""
    import tfmc_rt as rt
    m = rt.Model(art)
    g = m.generator()
    rt.LIB.tfmc_generator_set_num_threads.argtypes = [rt.C.c_void_p, rt.C.c_int32]
    rt.LIB.tfmc_generator_set_num_threads(g.h, threads)
    rng = np.random.default_rng(0)
    out = {}
    for n in prefill:
        ids = rng.integers(3, vocab, size=n).tolist()
        best = float("inf")
        for _ in range(repeats):
            g.reset()
            t0 = time.perf_counter()
            g.append(ids)
            best = min(best, time.perf_counter() - t0)
        out["prefill%d_s" % n] = best
    prompt = rng.integers(3, vocab, size=PROMPT).tolist()
    best, tokens = float("inf"), None
    for _ in range(repeats):
        g.reset()
        g.append(prompt)
        toks = []
        t0 = time.perf_counter()
        for i in range(STEPS):
            nxt = int(np.argmax(g.logits()))
            toks.append(nxt)
            g.append([nxt])
        best = min(best, (time.perf_counter() - t0) / STEPS)
        tokens = toks
    out.update(step_s=best, tokens=tokens, prompt=prompt)
    return out


def run_torch(folder, threads, prompt, cls="LlamaForCausalLM", prefill=PREFILL, repeats=2):
    """transformers' `cls` at f32 (eager attention): prefill timings and
    greedy decode steps with its KV cache."""
    import torch
    import transformers
    torch.set_num_threads(threads)
    model = getattr(transformers, cls).from_pretrained(folder, torch_dtype=torch.float32,
                                                       attn_implementation="eager").eval()
    vocab = model.config.vocab_size
    rng = np.random.default_rng(0)
    out = {}
    with torch.inference_mode():
        for n in prefill:
            ids = torch.from_numpy(rng.integers(3, vocab, size=(1, n)))
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(ids, use_cache=True)
                best = min(best, time.perf_counter() - t0)
            out["prefill%d_s" % n] = best
        best, tokens = float("inf"), None
        for _ in range(repeats):
            o = model(torch.tensor([prompt]), use_cache=True)
            past, nxt, toks = o.past_key_values, int(o.logits[0, -1].argmax()), []
            t0 = time.perf_counter()
            for i in range(STEPS):
                toks.append(nxt)
                o = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
                past, nxt = o.past_key_values, int(o.logits[0, -1].argmax())
            best = min(best, (time.perf_counter() - t0) / STEPS)
            tokens = toks
    out.update(step_s=best, tokens=tokens)
    return out


def run_llama_cpp(folder, work, dtype, threads, prefill=PREFILL, steps=STEPS,
                  name="tinyllama"):
    """pp<n> (n in `prefill`) / tg<steps> tokens/s from llama-bench, or None."""
    bench = os.path.join(LLAMA_CPP, "build", "bin", "llama-bench")
    if not os.path.exists(bench):
        return None
    gguf = os.path.join(work, "%s-%s.gguf" % (name, dtype))
    if not os.path.exists(gguf):
        # torch_compat: the converter's import-time tables name PyTorch 2.x
        # dtypes (bench/torch_compat/sitecustomize.py).
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(HERE, "torch_compat"), os.path.join(LLAMA_CPP, "src", "gguf-py")]))
        r = subprocess.run([sys.executable, os.path.join(LLAMA_CPP, "src", "convert_hf_to_gguf.py"),
                            folder, "--outtype", dtype, "--outfile", gguf],
                           capture_output=True, text=True, env=env)
        if r.returncode:
            print("llama.cpp conversion failed:\n" + r.stderr[-3000:], file=sys.stderr)
            return None
    r = subprocess.run([bench, "-m", gguf, "-p", ",".join(map(str, prefill)),
                        "-n", str(steps), "-t", str(threads), "-r", "2", "-o", "json"],
                       capture_output=True, text=True)
    if r.returncode:
        print("llama-bench failed:\n" + r.stderr[-3000:], file=sys.stderr)
        return None
    out = {}
    for t in json.loads(r.stdout):
        key = "tg" if t["n_gen"] else "pp%d" % t["n_prompt"]
        out[key + "_tps"] = t["avg_ts"]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--stream", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layers", type=int, default=22)
    p.add_argument("--json")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(run_tfmc(a.child[0], int(a.child[1]), a.threads)))
        return
    os.makedirs(a.work, exist_ok=True)
    folder = make_folder(os.path.join(a.work, "tinyllama"), a.layers)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    results = dict(shape=dict(layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"],
                              heads=cfg["num_attention_heads"],
                              kv_heads=cfg["num_key_value_heads"],
                              intermediate=cfg["intermediate_size"], vocab=cfg["vocab_size"]),
                   threads=a.threads)
    for dtype, flag, per in [("f16", "--weight-dtype=auto", 2), ("f32", "--weight-dtype=f32", 4)]:
        art = os.path.join(a.work, "tinyllama-%s.out" % dtype)
        if not os.path.exists(os.path.join(art, "manifest.json")):
            t0 = time.perf_counter()
            subprocess.run([tool("tfmc"), folder, "-o", art, flag], check=True)
            results["compile_%s_s" % dtype] = time.perf_counter() - t0
        st = subprocess.run([a.stream], check=True, capture_output=True, text=True).stdout
        triad = float(st.split("triad_gbs=")[1].split()[0])
        r = subprocess.run([sys.executable, __file__, a.work, "--stream", a.stream,
                            "--threads", str(a.threads), "--child", art,
                            str(cfg["vocab_size"])], check=True, capture_output=True, text=True)
        ours = json.loads(r.stdout)
        wb = weight_bytes(cfg, per)
        ours.update(triad_gbs=triad, weight_bytes=wb, bound_tps=triad * 1e9 / wb,
                    tps=1 / ours["step_s"], llama_cpp=run_llama_cpp(folder, a.work, dtype,
                                                                   a.threads))
        results["tfmc_" + dtype] = ours
    ref = run_torch(folder, a.threads, results["tfmc_f32"]["prompt"])
    ref["tps"] = 1 / ref["step_s"]
    results["torch_f32"] = ref
    results["tokens_equal_f32"] = results["tfmc_f32"]["tokens"] == ref["tokens"]

    s = results["shape"]
    print("Llama %(layers)d layers, hidden %(hidden)d, %(heads)d/%(kv_heads)d heads, "
          "intermediate %(intermediate)d, vocab %(vocab)d" % s + ", %d threads" % a.threads)
    for n in PREFILL:
        line = "prefill %d: PyTorch f32 %.0f ms" % (n, 1e3 * ref["prefill%d_s" % n])
        for dtype in ("f32", "f16"):
            o = results["tfmc_" + dtype]
            line += "; tfmc %s %.0f ms (%.2fx)" % (dtype, 1e3 * o["prefill%d_s" % n],
                                                   ref["prefill%d_s" % n] / o["prefill%d_s" % n])
            lc = o["llama_cpp"]
            if lc:
                line += ", llama.cpp %s %.0f ms" % (dtype, 1e3 * n / lc["pp%d_tps" % n])
        print(line)
    for dtype in ("f32", "f16"):
        o = results["tfmc_" + dtype]
        line = ("decode %s: tfmc %.2f tok/s = %.0f%% of the bound %.2f (%.1f GB/token, "
                "triad %.1f GB/s)" % (dtype, o["tps"], 100 * o["tps"] / o["bound_tps"],
                                      o["bound_tps"], o["weight_bytes"] / 1e9, o["triad_gbs"]))
        if o["llama_cpp"]:
            line += "; llama.cpp %.2f tok/s (tfmc %.2fx)" % (
                o["llama_cpp"]["tg_tps"], o["tps"] / o["llama_cpp"]["tg_tps"])
        if dtype == "f32":
            line += "; PyTorch %.2f tok/s (tfmc %.2fx); greedy tokens %s" % (
                ref["tps"], o["tps"] / ref["tps"],
                "equal" if results["tokens_equal_f32"] else "differ")
        print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
