"""A hand-written .mlir model end to end: examples/mlir/ffn_block.mlir
(pre-LN FFN with erf GELU and a residual, dynamic sequence <= 64) compiled
with --weights from a random safetensors file, run by tfmc-run at two
sequence lengths without --entry (the artifact's only entry) and with the
input and output names of its tfm.name attributes; compared with PyTorch at
fp32 atol 1e-5, rtol 1e-4.

usage: check_mlir_input.py WORKDIR SRC_ROOT
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_ref  # noqa: E402
from tfmc_run import compare, compile_model, run  # noqa: E402

work, src = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(11)
D, F = 96, 384
w = {
    "ln.weight": 1 + 0.5 * rng.standard_normal(D),
    "ln.bias": 0.5 * rng.standard_normal(D),
    "fc1.weight": rng.standard_normal((F, D)) / np.sqrt(D),
    "fc1.bias": 0.5 * rng.standard_normal(F),
    "fc2.weight": rng.standard_normal((D, F)) / np.sqrt(F),
    "fc2.bias": 0.5 * rng.standard_normal(D),
}
w = {k: v.astype(np.float32) for k, v in w.items()}
weights = os.path.join(work, "ffn.safetensors")
tfmc_ref.save_safetensors(weights, w)
art = compile_model(os.path.join(src, "examples/mlir/ffn_block.mlir"),
                    os.path.join(work, "ffn"), "--weights", weights)


def reference(x):
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    x = torch.from_numpy(x)
    n = torch.nn.functional.layer_norm(x, (D,), t["ln.weight"], t["ln.bias"], 1e-5)
    h = torch.nn.functional.gelu(torch.nn.functional.linear(n, t["fc1.weight"], t["fc1.bias"]))
    return (torch.nn.functional.linear(h, t["fc2.weight"], t["fc2.bias"]) + x).numpy()


for seq in (23, 64):
    x = rng.standard_normal((1, seq, D)).astype(np.float32)
    outs = run(art, {"hidden": x}, entry=None)  # the only entry, by default
    print("outputs:", " ".join(sorted(outs)))
    compare("ffn_block seq %d" % seq, outs["out"], reference(x))
print("OK")
