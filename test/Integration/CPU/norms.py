"""Row kernels: layer_norm and rms_norm over odd widths, with a large common
offset (catastrophic cancellation in a naive E[x^2] - E[x]^2), tiny eps, the
residual-fused add_layer_norm / add_rms_norm (both results), and a norm over
the last two axes; softmax with large magnitudes, -1e9 masked entries,
fully masked rows and a non-last axis."""
import numpy as np
import torch
import torch.nn.functional as F

from harness import check, randn, ty


def norm_case(name, shape, op, eps, offset=0.0, residual=False, axis=None, **kw):
    x = randn(*shape) + np.float32(offset)
    axis = len(shape) - 1 if axis is None else axis
    pshape = shape[axis:]
    g = (1 + 0.1 * randn(*pshape)).astype(np.float32)
    b = randn(*pshape, scale=0.1)
    rms = op.endswith("rms_norm")
    W = {"g": g} if rms else {"g": g, "b": b}
    T, P = ty(shape), ty(pshape)
    params = "scale %g" + ("" if rms else " bias %b")
    ptypes = ", ".join([P] * (1 if rms else 2))
    head = '  %g = tfm.weight "g" : ' + P + "\n"
    if not rms:
        head += '  %b = tfm.weight "b" : ' + P + "\n"
    dims = list(range(axis, len(shape)))

    def normalise(x, W):
        if rms:
            ms = x.pow(2).mean(dim=dims, keepdim=True)
            return x * torch.rsqrt(ms + eps) * W["g"]
        return F.layer_norm(x, pshape, W["g"], W["b"], eps)

    if residual:
        r = randn(*shape)
        mlir = f"""func.func @main(%x: {T}, %r: {T}) -> ({T}, {T}) {{
{head}  %y, %s = tfm.{op} %x, %r {params} axis {axis} eps {eps:.17e} : ({T}, {T}, {ptypes}) -> ({T}, {T})
  return %y, %s : {T}, {T}
}}
"""
        check(name, mlir, [x, r], W, lambda x, r, W: (normalise(x + r, W), x + r), **kw)
    else:
        mlir = f"""func.func @main(%x: {T}) -> {T} {{
{head}  %y = tfm.{op} %x {params} axis {axis} eps {eps:.17e} : ({T}, {ptypes}) -> {T}
  return %y : {T}
}}
"""
        check(name, mlir, [x], W, normalise, **kw)


norm_case("layer_norm_odd", (2, 37, 75), "layer_norm", 1e-5)
# Values near 300 have an fp32 spacing of 3e-5, so any fp32 mean is off by up
# to 1.5e-5 and every output with it: compare with the exact (float64)
# result at atol 4e-5. (PyTorch's fp32 layer_norm is 5e-5 off here.)
norm_case("layer_norm_offset", (3, 5, 384), "layer_norm", 1e-12, offset=300.0,
          atol=4e-5, ref64=True)
norm_case("layer_norm_wide", (1, 3, 4099), "layer_norm", 1e-5)
norm_case("layer_norm_two_axes", (2, 6, 5, 7), "layer_norm", 1e-5, axis=2)
norm_case("rms_norm_odd", (2, 37, 75), "rms_norm", 1e-6)
norm_case("add_layer_norm", (2, 37, 96), "add_layer_norm", 1e-5, residual=True)
norm_case("add_rms_norm", (1, 19, 130), "add_rms_norm", 1e-6, residual=True)


def softmax_case(name, x, axis):
    T = ty(x.shape)
    mlir = f"""func.func @main(%x: {T}) -> {T} {{
  %y = tfm.softmax %x axis {axis} : {T}
  return %y : {T}
}}
"""
    check(name, mlir, [x], None, lambda x, W: torch.softmax(x, axis))


softmax_case("softmax_odd", randn(3, 7, 53), 2)
softmax_case("softmax_large", randn(4, 1000, scale=3000.0), 1)
softmax_case("softmax_offset", randn(4, 333, scale=3.0) + np.float32(1e4), 1)
masked = randn(2, 3, 37, 37)
masked[..., 20:] = -1e9
masked[0, 0, 5, :] = -1e9  # a fully masked row: uniform, as in PyTorch
softmax_case("softmax_masked", masked, 3)
softmax_case("softmax_axis1", randn(4, 9, 5), 1)
print("OK")
