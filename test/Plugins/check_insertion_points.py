"""The example plugin (tfm-approximate-gelu) at each of tfmc's insertion
points, on a TOML decoder with exact GELU FFNs (d_model 96, 3 heads, 2
layers, sequence 13): before fusion it rewrites every GELU, so the compiled
model matches the PyTorch reference with tanh-approximated GELU at fp32
atol 1e-5, rtol 1e-4 and no longer the exact one; after fusion the GELUs
already sit in linear epilogues, which the pass does not match, so the
model stays exact.

usage: check_insertion_points.py WORKDIR PLUGIN.so
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_ref  # noqa: E402
from tfmc_run import compare, compile_model, run  # noqa: E402

work, plugin = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
S = 13
cfg = dict(tfmc_ref.family_configs()["decoder"], activation="gelu")
model = tfmc_ref.make_model(cfg, seed=5)
tfmc_ref.save_safetensors(os.path.join(work, "gelu.safetensors"), model.named_weights())
toml = os.path.join(work, "gelu.toml")
tfmc_ref.write_toml(toml, cfg, weights_file="gelu.safetensors",
                    compile_shapes={"batch": 1, "seq_len": S})
ids = np.random.default_rng(3).integers(0, cfg["vocab_size"], size=(1, S), dtype=np.int64)
with torch.no_grad():
    exact = model(torch.from_numpy(ids)).numpy()
    for layer in model.modules():  # the FFNs hold the activation name
        if getattr(layer, "act", None) == "gelu":
            layer.act = "gelu_tanh"
    tanh = model(torch.from_numpy(ids)).numpy()
print("reference exact vs tanh GELU: max abs diff %.2e" % np.abs(exact - tanh).max())

load = "--load-pass-plugin=" + plugin
gelu = "func.func(tfm-approximate-gelu)"
logits = {}
for point, args in {"none": [],
                    "before-fusion": [load, "--passes-before-fusion=" + gelu],
                    "after-fusion": [load, "--passes-after-fusion=" + gelu]}.items():
    art = compile_model(toml, os.path.join(work, point), *args)
    logits[point] = run(art, {"input_ids": ids})["logits"]

compare("no plugin vs exact GELU", logits["none"], exact)
compare("before-fusion vs tanh GELU", logits["before-fusion"], tanh)
compare("after-fusion vs exact GELU", logits["after-fusion"], exact)
# The approximation must be visible: the exact reference is out of
# tolerance for the before-fusion artifact.
err = np.abs(logits["before-fusion"] - exact) - (1e-5 + 1e-4 * np.abs(exact))
print("before-fusion vs exact GELU: %s" % ("differs" if err.max() > 0 else "SAME"))
if err.max() <= 0:
    sys.exit("the plugin before fusion did not change the compiled model")
print("OK")
