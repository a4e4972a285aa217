"""Integration-test harness: compiles one tfm function with tfmc (weights from
a safetensors file), runs it with tfmc-run and compares every result with a
PyTorch reference at fp32 atol 1e-5, rtol 1e-4 unless a case says otherwise.

A case is the function's text, its inputs (numpy arrays, bound as arg0, arg1,
...), its weights {name: array} and a reference function taking the inputs
and the weights as torch tensors and returning the results in order.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import tfmc_ref  # noqa: E402
from tfmc_run import ATOL, RTOL, compare, compile_model, run  # noqa: E402

WORK = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tfmc-integration"
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(1234)


def ty(shape, elem="f32"):
    """MLIR tensor type text for a shape."""
    return "tensor<%s%s>" % ("".join("%dx" % d for d in shape), elem)


def randn(*shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def check(name, mlir, inputs, weights, ref, atol=ATOL, rtol=RTOL, args=(), ref64=False):
    """Compiles, runs and compares one case; prints one line per result.
    ref64: evaluate the reference in float64 (for cases where PyTorch's own
    fp32 result is further from the exact value than the tolerance)."""
    path = os.path.join(WORK, name + ".mlir")
    with open(path, "w") as f:
        f.write(mlir)
    flags = list(args)
    if weights:
        wpath = os.path.join(WORK, name + ".safetensors")
        tfmc_ref.save_safetensors(wpath, weights)
        flags.append("--weights=" + wpath)
    art = compile_model(path, os.path.join(WORK, name + ".out"), *flags)
    outs = run(art, {"arg%d" % i: a for i, a in enumerate(inputs)}, entry="main")
    conv = (lambda a: torch.from_numpy(a).double()) if ref64 else torch.from_numpy
    with torch.no_grad():
        want = ref(*[conv(a) if a.dtype == np.float32 else torch.from_numpy(a)
                     for a in inputs],
                   {k: conv(v) for k, v in (weights or {}).items()})
    if not isinstance(want, (tuple, list)):
        want = (want,)
    for i, w in enumerate(want):
        compare("%s result%d" % (name, i), outs["result%d" % i], w.numpy(), atol, rtol)
