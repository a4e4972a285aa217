"""Checks that the IR tfmc emits has exactly the parameters of the PyTorch
model: same names, same shapes, same parameter count. Covers the three TOML
families (against tfmc_ref.RefModel) and Hugging Face GPT-2 and BERT folders
(against transformers' own models, with and without the name prefixes).

usage: check_params.py WORKDIR
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_ref  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
tfmc = os.path.join(os.environ["TFMC_TOOLS"], "tfmc")


def emit(path, *args):
    r = subprocess.run([tfmc, path, "--emit=tfm", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tfmc failed on %s:\n%s" % (path, r.stderr))
    return tfmc_ref.tfm_weights(r.stdout)


def compare(label, ir, expected):
    missing = sorted(set(expected) - set(ir))
    extra = sorted(set(ir) - set(expected))
    wrong = sorted(n for n in set(ir) & set(expected) if tuple(ir[n]) != tuple(expected[n]))
    if missing or extra or wrong:
        sys.exit("%s: missing %s, unexpected %s, wrong shapes %s" % (label, missing, extra,
                 [(n, ir[n], expected[n]) for n in wrong]))
    count = sum(int(np.prod(s)) for s in ir.values())
    print("%s: %d weights, %d parameters, all shapes equal" % (label, len(ir), count))
    return count


# The three families of the TOML format (and an RMSNorm/SiLU variant).
for fam, cfg in tfmc_ref.family_configs().items():
    model = tfmc_ref.make_model(cfg)
    weights = model.named_weights()
    tfmc_ref.save_safetensors(os.path.join(work, fam + ".safetensors"), weights)
    toml = os.path.join(work, fam + ".toml")
    tfmc_ref.write_toml(toml, cfg, weights_file=fam + ".safetensors",
                        compile_shapes={"seq_len": 37})
    expected = {n: a.shape for n, a in weights.items()}
    n = compare(fam, emit(toml), expected)
    torch_count = sum(p.numel() for p in model.parameters())
    assert n == torch_count, (fam, n, torch_count)
    print("%s: PyTorch parameter count %d matches" % (fam, torch_count))

# Hugging Face folders, written by transformers itself.
import torch  # noqa: E402
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

torch.manual_seed(0)
gpt2 = GPT2LMHeadModel(GPT2Config(n_embd=96, n_head=3, n_layer=2, vocab_size=1000,
                                  n_positions=64)).eval()
bert = BertModel(BertConfig(hidden_size=96, num_attention_heads=3, num_hidden_layers=2,
                            intermediate_size=200, vocab_size=1000,
                            max_position_embeddings=64)).eval()
for name, model, skip in [("gpt2", gpt2, (".attn.bias", ".attn.masked_bias", "lm_head")),
                          ("bert", bert, ("pooler.", "position_ids"))]:
    folder = os.path.join(work, name)
    model.save_pretrained(folder, safe_serialization=True)
    sd = {k: tuple(v.shape) for k, v in model.state_dict().items()
          if not any(s in k for s in skip)}
    ir = emit(folder, "--seq-len=16")
    n = compare("hf-" + name, ir, sd)
    used = sum(p.numel() for k, p in model.named_parameters() if not any(s in k for s in skip))
    assert n == used, (name, n, used)
    # The same checkpoint without the "transformer."/"bert." prefix.
    if name == "gpt2":
        bare = os.path.join(work, "gpt2-bare")
        os.makedirs(bare, exist_ok=True)
        state = {k[len("transformer."):]: v.contiguous() for k, v in model.state_dict().items()
                 if k.startswith("transformer.")}
        save_file(state, os.path.join(bare, "model.safetensors"))
        with open(os.path.join(folder, "config.json")) as f:
            open(os.path.join(bare, "config.json"), "w").write(f.read())
        ir = emit(bare, "--seq-len=16")
        compare("hf-gpt2-unprefixed", ir, {k[len("transformer."):]: s for k, s in sd.items()})
    else:
        pref = os.path.join(work, "bert-prefixed")
        os.makedirs(pref, exist_ok=True)
        save_file({"bert." + k: v.contiguous() for k, v in model.state_dict().items()},
                  os.path.join(pref, "model.safetensors"))
        with open(os.path.join(folder, "config.json")) as f:
            open(os.path.join(pref, "config.json"), "w").write(f.read())
        ir = emit(pref, "--seq-len=16")
        compare("hf-bert-prefixed", ir, {"bert." + k: s for k, s in sd.items()})
print("OK")
