"""Compiles a model family from a TOML file with random odd-sized weights
(d_model 96, 3 heads, vocab 1000, batch 2, sequence 37 with the second
sequence padded, decoder sequence 29) twice: with tfmc's fusion pipeline and
with --no-fusion. Runs both with tfmc-run and compares each with the PyTorch
reference model at fp32 atol 1e-5, rtol 1e-4, and the two with each other
(fusion preserves semantics).

usage: check_families.py WORKDIR FAMILY...
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_ref  # noqa: E402
from tfmc_run import compare, compile_model, run  # noqa: E402

work, families = sys.argv[1], sys.argv[2:]
os.makedirs(work, exist_ok=True)
PIPELINES = {"fused": [], "unfused": ["--no-fusion"]}

B, S, T = 2, 37, 29


def check(fam, cfg, model, art, label, ids, mask, t):
    """Runs one artifact against the reference; returns its outputs."""
    if fam.startswith("encoder-decoder"):
        dec = np.random.default_rng(11).integers(0, cfg["vocab_size"], size=(B, T))
        enc = run(art, {"input_ids": ids, "attention_mask": mask}, "encode")
        h = enc["encoder_hidden_states"]
        compare("%s [%s] encoder_hidden_states" % (fam, label), h,
                model.encode(t(ids), t(mask)).numpy())
        # The decoder consumes tfmc's own encoder output.
        out = run(art, {"decoder_input_ids": dec, "encoder_hidden_states": h,
                        "attention_mask": mask}, "decode")
        compare("%s [%s] logits" % (fam, label), out["logits"],
                model.decode(t(dec), t(h), t(mask)).numpy())
        return {"encoder_hidden_states": h, "logits": out["logits"]}
    if cfg["family"] == "encoder":
        types = np.random.default_rng(13).integers(0, 2, size=(B, S))
        out = run(art, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        compare("%s [%s] last_hidden_state" % (fam, label), out["last_hidden_state"],
                model(t(ids), t(mask), t(types)).numpy())
        return out
    out = run(art, {"input_ids": ids})
    compare("%s [%s] logits" % (fam, label), out["logits"], model(t(ids)).numpy())
    return out


rng = np.random.default_rng(7)
configs = tfmc_ref.family_configs()
for fam in families:
    cfg = configs[fam]
    model = tfmc_ref.make_model(cfg, seed=3)
    tfmc_ref.save_safetensors(os.path.join(work, fam + ".safetensors"),
                              model.named_weights())
    toml = os.path.join(work, fam + ".toml")
    tfmc_ref.write_toml(toml, cfg, weights_file=fam + ".safetensors",
                        compile_shapes=dict({"batch": B, "seq_len": S},
                                            **({"target_seq_len": T}
                                               if fam.startswith("encoder-decoder") else {})))
    arts = {p: compile_model(toml, os.path.join(work, "%s.%s" % (fam, p)), *a)
            for p, a in PIPELINES.items()}

    ids = rng.integers(0, cfg["vocab_size"], size=(B, S), dtype=np.int64)
    mask = np.ones((B, S), dtype=np.int64)
    mask[1, S - 6:] = 0  # the second sequence is padded
    t = torch.from_numpy
    results = {}
    for label, art in arts.items():
        with torch.no_grad():
            results[label] = check(fam, cfg, model, art, label, ids, mask, t)
    for name in results["fused"]:
        compare("%s fused vs unfused %s" % (fam, name), results["fused"][name],
                results["unfused"][name])
print("OK")
