"""Inputs and outputs of every element type the runtime supports (float32,
float16, bfloat16, int64, int32, int8, bool) travel through tfmc-run's .npy
files, the C API and the compiled code unchanged; the results equal numpy
(f16/bf16 rounding to nearest even, as the compiler, the kernels and
PyTorch round).

usage: check_io_dtypes.py WORKDIR MODEL.mlir
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import compare, compile_model, run  # noqa: E402

work, mlir = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
art = compile_model(mlir, os.path.join(work, "art"))


def to_bf16_bits(a):
    """numpy float32 -> bfloat16 bit patterns (uint16), as torch rounds."""
    return torch.from_numpy(a).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def exact(label, got, want):
    ok = got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
    print("%s: %s %s %s" % (label, got.dtype, got.shape, "OK" if ok else "FAIL"))
    if not ok:
        sys.exit("%s: got %r, expected %r" % (label, got, want))


rng = np.random.default_rng(1)
x = rng.standard_normal((3, 5)).astype(np.float16)
y = to_bf16_bits(rng.standard_normal((3, 5)).astype(np.float32))
out = run(art, {"x": x, "y": y}, "halves")
s = x.astype(np.float32) + from_bf16_bits(y)
exact("halves sum (bfloat16 bits)", out["sum"], to_bf16_bits(s))
e = np.exp(x.astype(np.float32))
compare("halves exp (float16)", out["exp"].astype(np.float32),
        e.astype(np.float16).astype(np.float32), atol=1e-3, rtol=1e-3)
exact("halves exp dtype", out["exp"][:0], np.zeros((0, 5), np.float16))

q = rng.integers(-128, 128, size=(2, 3)).astype(np.int8)
m = np.array([[True, False, True], [False, True, True]])
out = run(art, {"q": q, "mask": m}, "bytes")
exact("bytes qt (int8)", out["qt"], q.T.copy())
exact("bytes wide (int32)", out["wide"], q.astype(np.int32))
exact("bytes additive (float32)", out["additive"],
      np.where(m, 0.0, -1e9).astype(np.float32).reshape(2, 1, 1, 3))
print("OK")
