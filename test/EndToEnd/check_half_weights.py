"""Weights stored in half precision (tfmc --weight-dtype=f16|bf16|auto): the
artifact's GEMM and embedding matrices are 2 bytes per element and the
logits equal PyTorch run in fp32 on the same weights rounded to that type
(fp32 tolerance: the arithmetic is f32 in both). Which tensors were rounded
is read from the artifact's manifest (weights.tensors: dtype and, for merged
projections, parts), so the reference rounds exactly what tfmc stores.

usage: check_half_weights.py WORKDIR DTYPE CASE...
  DTYPE  f16 | bf16 | auto-f16 | auto-bf16 (auto: the checkpoint is saved in
         that type and compiled with --weight-dtype=auto)
  CASE   a tfmc_ref family (decoder, encoder, encoder-decoder,
         decoder-rms-silu), hf-gpt2, hf-bert, or exe-decoder (--emit=exe)
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_ref  # noqa: E402
from tfmc_run import compare, compile_model, run, tool, TARGET  # noqa: E402

work, dtype, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(work, exist_ok=True)
auto = dtype.startswith("auto-")
storage = dtype[len("auto-"):] if auto else dtype
TORCH = {"f16": torch.float16, "bf16": torch.bfloat16}[storage]
MANIFEST = {"f16": "float16", "bf16": "bfloat16"}[storage]
FLAG = "--weight-dtype=" + ("auto" if auto else storage)
B, S, T = 2, 37, 29


def stored_half(artifact):
    """Names of the checkpoint tensors the artifact stores in half precision,
    and the bytes of its weights."""
    with open(os.path.join(artifact, "manifest.json")) as f:
        m = json.load(f)
    names = set()
    for t in m["weights"]["tensors"]:
        if t["dtype"] == MANIFEST:
            names.update(t.get("parts", [t["name"]]))
        else:
            assert t["dtype"] == "float32", t
    return names, m["weights"]["bytes"]


def round_params(named, names):
    """Rounds the parameters in `names` ({name: tensor}) to the storage type."""
    missing = set(names)
    with torch.no_grad():
        for name, p in named:
            if name in names:
                p.copy_(p.to(TORCH).to(torch.float32))
                missing.discard(name)
    assert not missing, "manifest names no parameter %s" % sorted(missing)


def check_bytes(label, half_bytes, f32_bytes):
    ratio = half_bytes / f32_bytes
    print("%s: weights.bin %d bytes, %.2f of f32's %d" % (label, half_bytes, ratio, f32_bytes))
    if not ratio < 0.75:
        sys.exit("%s: the half-precision weights are not smaller" % label)


def family(fam, exe=False):
    cfg = tfmc_ref.family_configs()[fam]
    model = tfmc_ref.make_model(cfg, seed=3)
    weights = {k: v for k, v in model.named_weights().items()}
    st = os.path.join(work, fam + ".safetensors")
    tfmc_ref.save_safetensors(st, weights, dtype={"f16": "F16", "bf16": "BF16"}[storage]
                              if auto else "F32")
    if auto:  # the reference computes with what the checkpoint holds
        from safetensors.torch import load_file
        stored = load_file(st)
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(stored[n[len("stack."):] if n.startswith("stack.") else n].float())
    toml = os.path.join(work, fam + ".toml")
    shapes = {"batch": B, "seq_len": S}
    if fam.startswith("encoder-decoder"):
        shapes["target_seq_len"] = T
    tfmc_ref.write_toml(toml, cfg, weights_file=fam + ".safetensors", compile_shapes=shapes)
    label = "%s %s%s" % (fam, dtype, " exe" if exe else "")
    art = compile_model(toml, os.path.join(work, fam + ".half"), FLAG,
                        *(["--emit=exe"] if exe else []))
    ref = compile_model(toml, os.path.join(work, fam + ".f32"))
    names, nbytes = stored_half(art)
    check_bytes(label, nbytes, stored_half(ref)[1])
    if not auto:
        round_params(((n[len("stack."):] if n.startswith("stack.") else n, p)
                      for n, p in model.named_parameters()), names)
    rng = np.random.default_rng(7)
    ids = rng.integers(0, cfg["vocab_size"], size=(B, S), dtype=np.int64)
    mask = np.ones((B, S), dtype=np.int64)
    mask[1, S - 6:] = 0
    t = torch.from_numpy
    with torch.no_grad():
        if fam.startswith("encoder-decoder"):
            dec = rng.integers(0, cfg["vocab_size"], size=(B, T))
            h = run(art, {"input_ids": ids, "attention_mask": mask}, "encode")
            h = h["encoder_hidden_states"]
            compare(label + " encoder_hidden_states", h, model.encode(t(ids), t(mask)).numpy())
            out = run(art, {"decoder_input_ids": dec, "encoder_hidden_states": h,
                            "attention_mask": mask}, "decode")
            compare(label + " logits", out["logits"],
                    model.decode(t(dec), t(h), t(mask)).numpy())
        elif cfg["family"] == "encoder":
            types = rng.integers(0, 2, size=(B, S))
            out = run(art, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
            compare(label + " last_hidden_state", out["last_hidden_state"],
                    model(t(ids), t(mask), t(types)).numpy())
        elif exe:
            # The standalone executable carries the half-precision weights.
            np.save(os.path.join(work, "exe-ids.npy"), ids)
            r = subprocess.run([os.path.join(art, "model"), "--input",
                                "input_ids=" + os.path.join(work, "exe-ids.npy"),
                                "--output-dir", os.path.join(work, "exe-out")],
                               capture_output=True, text=True)
            if r.returncode:
                sys.exit("%s: %s" % (label, r.stderr))
            got = np.load(os.path.join(work, "exe-out", "logits.npy"))
            compare(label + " logits", got, model(t(ids)).numpy())
        else:
            out = run(art, {"input_ids": ids})
            compare(label + " logits", out["logits"], model(t(ids)).numpy())
            # Generation entries read the same weights.
            step = run(art, {"input_ids": ids[:1, :5], "past_length": np.array(0)}, "prefill")
            compare(label + " prefill logits", step["logits"][0, -1],
                    model(t(ids[:1, :5])).numpy()[0, -1])


def hf(which):
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel
    torch.manual_seed(5)
    if which == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(n_embd=96, n_head=3, n_layer=2, vocab_size=1000,
                                           n_positions=64, attn_pdrop=0, embd_pdrop=0,
                                           resid_pdrop=0)).eval()
    else:
        model = BertModel(BertConfig(hidden_size=96, num_attention_heads=3,
                                     num_hidden_layers=2, intermediate_size=200,
                                     vocab_size=1000, max_position_embeddings=64),
                          add_pooling_layer=False).eval()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.02 * torch.randn_like(p))
    folder = os.path.join(work, which)
    if auto:
        model = model.to(TORCH)
    model.save_pretrained(folder, safe_serialization=True)
    model = model.float()
    label = "hf-%s %s" % (which, dtype)
    art = compile_model(folder, os.path.join(work, which + ".half"), FLAG,
                        "--batch=%d" % B, "--seq-len=%d" % S)
    names, nbytes = stored_half(art)
    if not auto:
        ref = compile_model(folder, os.path.join(work, which + ".f32"),
                            "--batch=%d" % B, "--seq-len=%d" % S)
        check_bytes(label, nbytes, stored_half(ref)[1])
        round_params(model.named_parameters(), names)
    elif not names:
        sys.exit("%s: --weight-dtype=auto kept nothing in %s" % (label, storage))
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1000, size=(B, S), dtype=np.int64)
    t = torch.from_numpy
    with torch.no_grad():
        if which == "gpt2":
            compare(label + " logits", run(art, {"input_ids": ids})["logits"],
                    model(t(ids)).logits.numpy())
        else:
            mask, types = tfmc_ref.bert_inputs(B, S)
            got = run(art, {"input_ids": ids, "attention_mask": mask,
                            "token_type_ids": types})["last_hidden_state"]
            compare(label + " last_hidden_state", got,
                    model(t(ids), attention_mask=t(mask),
                          token_type_ids=t(types)).last_hidden_state.numpy())


for case in cases:
    if case.startswith("hf-"):
        hf(case[len("hf-"):])
    elif case.startswith("exe-"):
        family(case[len("exe-"):], exe=True)
    else:
        family(case)
print("OK")
