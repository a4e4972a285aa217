"""Hugging Face ViT folders written by transformers itself (ViTModel with
its pooler, ViTForImageClassification with 7 labels): random weights large
enough that every tensor matters, odd sizes (images 36x36 in 6x6 patches:
36 patches + the class token, d 40 in 5 heads, d_ff 72, 2 layers, batch 3),
compiled by tfmc and run by tfmc-run, compared with transformers at fp32
atol 1e-5, rtol 1e-4: last_hidden_state and pooler_output (ViTModel),
last_hidden_state and logits (the classifier, whose top-1 labels must
agree too). Also the errors: pixel_values of the wrong shape, an image
size that is not a multiple of the patch size, a missing classifier bias.

usage: check_vit.py WORKDIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import compare, compile_model, run, target_args, tool  # noqa: E402
from transformers import ViTConfig, ViTForImageClassification, ViTModel  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
B = 3
torch.manual_seed(11)
cfg = ViTConfig(hidden_size=40, num_hidden_layers=2, num_attention_heads=5,
                intermediate_size=72, image_size=36, patch_size=6,
                num_channels=3, num_labels=7, hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0)
# Three different "images": noise at different scales and offsets.
pixels = (np.random.default_rng(2).standard_normal((B, 3, 36, 36)) *
          np.array([0.5, 1.0, 2.0])[:, None, None, None] +
          np.array([-1.0, 0.0, 1.0])[:, None, None, None]).astype(np.float32)

for kind, cls in (("vit", ViTModel), ("vit-cls", ViTForImageClassification)):
    model = cls._from_config(cfg, attn_implementation="eager").eval()
    # Default initialisation leaves norms at 1, biases and the class token
    # near 0: perturb everything, matrices large enough (std 0.15) that
    # attention is peaked and the positions matter.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.15)
            else:
                p.add_(0.1 * torch.randn_like(p))
    folder = os.path.join(work, kind)
    model.save_pretrained(folder, safe_serialization=True)
    art = compile_model(folder, os.path.join(work, kind + ".out"), "--batch=%d" % B)
    with torch.no_grad():
        ref = model(torch.from_numpy(pixels), output_hidden_states=True)
        # ViTForImageClassification returns no last_hidden_state: it is
        # the final LayerNorm of the last hidden state.
        hidden = (ref.last_hidden_state if kind == "vit" else
                  model.vit.layernorm(ref.hidden_states[-1]))
    got = run(art, {"pixel_values": pixels})
    compare("%s last_hidden_state" % kind, got["last_hidden_state"], hidden.numpy())
    if kind == "vit":
        compare("vit pooler_output", got["pooler_output"], ref.pooler_output.numpy())
    else:
        compare("vit-cls logits", got["logits"], ref.logits.numpy())
        top = ref.logits.numpy().argmax(-1)
        assert (got["logits"].argmax(-1) == top).all(), (got["logits"], top)
        print("vit-cls top-1 labels %s equal transformers OK" % list(top))
        spread = float(ref.logits.std())
        assert spread > 0.5, spread  # the head is not a constant

# Errors, each one clear message and a non-zero exit.
def fails(args, expect):
    r = subprocess.run(args, capture_output=True, text=True)
    ok = r.returncode != 0 and expect in r.stderr and "Assertion" not in r.stderr
    print("error %r: %s" % (expect, "OK" if ok else "FAIL:\n" + r.stderr))
    if not ok:
        sys.exit(1)

bad = os.path.join(work, "bad.npy")
np.save(bad, pixels[:, :, :30, :])
fails([tool("tfmc-run"), os.path.join(work, "vit.out"), "--input",
       "pixel_values=" + bad], "must have shape [3, 3, 36, 36], got [3, 3, 30, 36]")
odd = os.path.join(work, "vit-odd")
os.makedirs(odd, exist_ok=True)
conf = json.load(open(os.path.join(work, "vit", "config.json")))
conf["image_size"] = 32
json.dump(conf, open(os.path.join(odd, "config.json"), "w"))
os.symlink(os.path.join(work, "vit", "model.safetensors"),
           os.path.join(odd, "model.safetensors"))
fails([tool("tfmc"), odd, "-o", os.path.join(work, "odd.out"), *target_args()],
      "error: config key 'patch_size': the image size 32 is not a multiple of "
      "the patch size 6")
# A classifier weight without its bias: the missing tensor is named.
from safetensors.numpy import load_file, save_file  # noqa: E402
nobias = os.path.join(work, "vit-nobias")
os.makedirs(nobias, exist_ok=True)
tensors = load_file(os.path.join(work, "vit-cls", "model.safetensors"))
del tensors["classifier.bias"]
save_file(tensors, os.path.join(nobias, "model.safetensors"))
os.symlink(os.path.join(work, "vit-cls", "config.json"),
           os.path.join(nobias, "config.json"))
fails([tool("tfmc"), nobias, "-o", os.path.join(work, "nobias.out"), *target_args()],
      "missing weight 'classifier.bias' (expected shape [7])")
if os.path.exists(os.path.join(work, "nobias.out")):
    sys.exit("a failed compile wrote its output directory")
print("OK")
