"""Epilogues applied in the GEMM write-back: bias + activation (ReLU, GELU erf
and tanh, SiLU), a residual added from an epilogue input, and a broadcast
epilogue input; written as epilogue regions and as the primitive ops the
fusion pipeline folds into them."""
import math

import torch
import torch.nn.functional as F

from harness import check, randn, ty

M, K, N = (2, 37), 96, 211
x, w, b = randn(*M, K), randn(N, K, scale=0.15), randn(N)
r = randn(*M, N)
col = randn(N)
W = {"w": w, "b": b}
X, O = ty(x.shape), ty(M + (N,))
head = f"""  %w = tfm.weight "w" : {ty(w.shape)}
  %b = tfm.weight "b" : {ty(b.shape)}
"""
lin = f"({X}, {ty(w.shape)}, {ty(b.shape)}) -> {O}"

# Explicit epilogue regions.
regions = {
    "relu": ("%z = arith.constant 0.0 : f32\n    %y = arith.maximumf %acc, %z : f32",
             lambda t: F.relu(t)),
    "gelu_erf": ("%h = arith.constant 0.5 : f32\n    %s = arith.constant 0.70710678118654752 : f32\n"
                 "    %o = arith.constant 1.0 : f32\n    %t = arith.mulf %acc, %s : f32\n"
                 "    %e = math.erf %t : f32\n    %p = arith.addf %e, %o : f32\n"
                 "    %q = arith.mulf %acc, %p : f32\n    %y = arith.mulf %q, %h : f32",
                 lambda t: F.gelu(t)),
}
for name, (body, f) in regions.items():
    mlir = f"""func.func @main(%x: {X}) -> {O} {{
{head}  %y = tfm.linear %x, %w bias %b : {lin} epilogue {{
  ^bb0(%acc: f32):
    {body}
    tfm.yield %y : f32
  }}
  return %y : {O}
}}
"""
    check("epilogue_" + name, mlir, [x], W, lambda x, W, f=f: f(F.linear(x, W["w"], W["b"])))
    # The epilogue runs once, after the last of several K blocks.
    check("epilogue_kblocks_" + name, mlir, [x], W,
          lambda x, W, f=f: f(F.linear(x, W["w"], W["b"])), args=["--gemm-kc=40"])

# Residual from an epilogue input.
mlir = f"""func.func @main(%x: {X}, %r: {O}) -> {O} {{
{head}  %y = tfm.linear %x, %w bias %b inputs(%r) : ({X}, {ty(w.shape)}, {ty(b.shape)}, {O}) -> {O} epilogue {{
  ^bb0(%acc: f32, %res: f32):
    %y = arith.addf %acc, %res : f32
    tfm.yield %y : f32
  }}
  return %y : {O}
}}
"""
check("epilogue_residual", mlir, [x, r], W, lambda x, r, W: F.linear(x, W["w"], W["b"]) + r)
check("epilogue_residual_kblocks", mlir, [x, r], W,
      lambda x, r, W: F.linear(x, W["w"], W["b"]) + r, args=["--gemm-kc=24"])

# Primitive chains the fusion pipeline folds into the epilogue.
chains = {
    "gelu_tanh": ("%g = tfm.gelu %h approximate tanh : {O}", "%g",
                  lambda h, c: F.gelu(h, approximate="tanh")),
    "silu": ("%g = tfm.silu %h : {O}", "%g", lambda h, c: F.silu(h)),
    "sigmoid_mul_col": ("%s = tfm.sigmoid %h : {O}\n  %g = tfm.mul %s, %c : {O}, {C}", "%g",
                        lambda h, c: torch.sigmoid(h) * c),
    "tanh_scale": ("%t = tfm.tanh %h : {O}\n  %g = tfm.scale %t by 3.0 : {O}", "%g",
                   lambda h, c: 3.0 * torch.tanh(h)),
}
for name, (ops, res, f) in chains.items():
    ops = ops.format(O=O, C=ty(col.shape))
    mlir = f"""func.func @main(%x: {X}, %c: {ty(col.shape)}) -> {O} {{
{head}  %h = tfm.linear %x, %w bias %b : {lin}
  {ops}
  return {res} : {O}
}}
"""
    check("chain_" + name, mlir, [x, col], W,
          lambda x, c, W, f=f: f(F.linear(x, W["w"], W["b"]), c))
print("OK")
