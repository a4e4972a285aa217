"""Quantized GEMM weights (tfmc --quantize=int8|int4[:GROUP]): the artifact
stores integer codes and per-group scales, and its outputs equal PyTorch in
fp32 on the same weights quantized and dequantized by the rule of
#tfm.quant (fp32 tolerance: the dequantized values are exact in f32 and the
arithmetic is f32 in both). Which tensors are quantized is read from the
manifest (quant_bits; parts of merged projections; a tensor that also has an
unquantized row-major entry is a tied LM head whose embedding stays exact).
Also prints how far the quantized model is from the f32 one (max logit
error, top-1 agreement) and the size of weights.bin.

usage: check_quantized.py WORKDIR MODE CASE... [-- TFMC-ARGS...]
  MODE  int8 | int4 | int8:G | int4:G
  CASE  a tfmc_ref family (decoder, decoder-llama, encoder, ...) or hf-gpt2
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_ref  # noqa: E402
from tfmc_run import compare, compile_model, run  # noqa: E402

argv = sys.argv[1:]
extra = argv[argv.index("--") + 1:] if "--" in argv else []
argv = argv[:argv.index("--")] if "--" in argv else argv
work, mode, cases = argv[0], argv[1], argv[2:]
os.makedirs(work, exist_ok=True)
BITS = 8 if mode.startswith("int8") else 4
GROUP = int(mode.split(":")[1]) if ":" in mode else 32
B, S = 2, 37


def quantize(w, kn):
    """w [N, K] (or [K, N] when kn) -> dequantized codes, in f32, groups of
    GROUP along K per output feature."""
    m = np.ascontiguousarray((w.T if kn else w).astype(np.float32))
    out = np.empty_like(m)
    qmax = np.float32(2 ** (BITS - 1) - 1)
    for g0 in range(0, m.shape[1], GROUP):
        blk = m[:, g0:g0 + GROUP]
        s = (np.abs(blk).max(axis=1, keepdims=True) / qmax).astype(np.float32)
        safe = np.where(s == 0, np.float32(1), s)
        q = np.clip(np.rint(blk / safe), -qmax, qmax).astype(np.float32)
        out[:, g0:g0 + GROUP] = np.where(s == 0, np.float32(0), q * s)
    return out.T if kn else out


def quantized_tensors(artifact):
    """{checkpoint tensor name: (kn, tied)} of the quantized entries, and the
    bytes of weights.bin."""
    with open(os.path.join(artifact, "manifest.json")) as f:
        m = json.load(f)
    tensors = m["weights"]["tensors"]
    exact = {t["name"] for t in tensors if "quant_bits" not in t}
    out = {}
    for t in tensors:
        if "quant_bits" not in t:
            continue
        assert (t["quant_bits"], t["quant_group"]) == (BITS, GROUP), t
        for name in t.get("parts", [t["name"]]):
            out[name] = (t["kn"], t["name"] in exact)
    return out, m["weights"]["bytes"]


def apply(named, quantized):
    """Quantizes the parameters named in `quantized` in place; returns the
    dequantized copies of tied ones (their embedding stays exact)."""
    tied, missing = {}, set(quantized)
    with torch.no_grad():
        for name, p in named:
            if name not in quantized:
                continue
            kn, is_tied = quantized[name]
            q = torch.from_numpy(quantize(p.detach().numpy(), kn))
            if is_tied:
                tied[name] = q
            else:
                p.copy_(q)
            missing.discard(name)
    assert not missing, "manifest names no parameter %s" % sorted(missing)
    return tied


def report(label, got, f32_logits, nbytes, f32_bytes):
    err = np.abs(got - f32_logits)
    agree = np.mean(np.argmax(got, -1) == np.argmax(f32_logits, -1))
    print("%s: weights.bin %.2f of f32's; vs f32: max err %.3f, top-1 agreement %.3f"
          % (label, nbytes / f32_bytes, err.max(), agree))


def family(fam):
    cfg = tfmc_ref.family_configs()[fam]
    model = tfmc_ref.make_model(cfg, seed=3)
    weights = dict(model.named_weights())
    tfmc_ref.save_safetensors(os.path.join(work, fam + ".safetensors"), weights)
    toml = os.path.join(work, fam + ".toml")
    tfmc_ref.write_toml(toml, cfg, weights_file=fam + ".safetensors",
                        compile_shapes={"batch": B, "seq_len": S})
    label = "%s %s" % (fam, mode + (" " + " ".join(extra) if extra else ""))
    art = compile_model(toml, os.path.join(work, fam + ".q"), "--quantize=" + mode, *extra)
    f32 = compile_model(toml, os.path.join(work, fam + ".f32"))
    quantized, nbytes = quantized_tensors(art)
    rng = np.random.default_rng(7)
    ids = rng.integers(0, cfg["vocab_size"], size=(B, S), dtype=np.int64)
    t = torch.from_numpy
    if cfg["family"] == "encoder":
        mask, types = tfmc_ref.bert_inputs(B, S)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out_name = "last_hidden_state"
    else:
        inputs, out_name = {"input_ids": ids}, "logits"
    want_f32 = run(f32, inputs)[out_name]
    tied = apply(((n[len("stack."):] if n.startswith("stack.") else n, p)
                  for n, p in model.named_parameters()), quantized)
    if tied:
        (head,) = tied.values()
        model._head = lambda x, stack: x @ head.t()
    got = run(art, inputs)
    with torch.no_grad():
        if cfg["family"] == "encoder":
            want = model(t(ids), t(inputs["attention_mask"]), t(inputs["token_type_ids"]))
        else:
            want = model(t(ids))
    compare(label + " " + out_name, got[out_name], want.numpy())
    report(label, got[out_name], want_f32, nbytes, quantized_tensors(f32)[1])
    if cfg["family"] == "decoder":
        # prefill + decode read the same quantized panels (GEMV for one token).
        step = run(art, {"input_ids": ids[:1, :5], "past_length": np.array(0)}, "prefill")
        with torch.no_grad():
            ref = model(t(ids[:1, :5])).numpy()
        compare(label + " prefill logits", step["logits"][0, -1], ref[0, -1])
    return quantized


def hf_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(5)
    model = GPT2LMHeadModel(GPT2Config(n_embd=96, n_head=3, n_layer=2, vocab_size=1000,
                                       n_positions=64, attn_pdrop=0, embd_pdrop=0,
                                       resid_pdrop=0)).eval()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.02 * torch.randn_like(p))
    folder = os.path.join(work, "gpt2")
    model.save_pretrained(folder, safe_serialization=True)
    label = "hf-gpt2 " + mode
    args = ("--batch=%d" % B, "--seq-len=%d" % S)
    art = compile_model(folder, os.path.join(work, "gpt2.q"), "--quantize=" + mode, *extra, *args)
    f32 = compile_model(folder, os.path.join(work, "gpt2.f32"), *args)
    quantized, nbytes = quantized_tensors(art)
    ids = np.random.default_rng(3).integers(0, 1000, size=(B, S), dtype=np.int64)
    want_f32 = run(f32, {"input_ids": ids})["logits"]
    tied = apply(model.named_parameters(), quantized)
    if tied:
        (head,) = tied.values()
        model.lm_head.weight = torch.nn.Parameter(head)
    got = run(art, {"input_ids": ids})["logits"]
    with torch.no_grad():
        want = model(torch.from_numpy(ids)).logits.numpy()
    compare(label + " logits", got, want)
    report(label, got, want_f32, nbytes, os.path.getsize(os.path.join(f32, "weights.bin")))
    return quantized


for case in cases:
    q = hf_gpt2() if case == "hf-gpt2" else family(case)
    print("%s %s: %d tensors quantized" % (case, mode, len(q)))
print("OK")
