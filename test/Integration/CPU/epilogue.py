"""Epilogues applied in the GEMM write-back: bias + activation (ReLU, GELU erf
and tanh, SiLU), a residual added from an epilogue input, and a broadcast
epilogue input; written as epilogue regions and as the primitive ops the
fusion pipeline folds into them. Gated linears (act(gate) * up from one GEMM
of 2H features) the same way: an odd H, a bias on both halves, K blocks,
an epilogue input, a few rows (the decode GEMV), a run-time row count."""
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

# Gated linears. H = 211: no panel of either half is full.
H = 211
G = {"wgu": randn(2 * H, K, scale=0.15), "bgu": randn(2 * H)}
OH = ty(M + (H,))
rh = randn(*M, H)
ghead = f"""  %w = tfm.weight "wgu" : {ty(G["wgu"].shape)}
  %b = tfm.weight "bgu" : {ty(G["bgu"].shape)}
"""
SILU_MUL = """%one = arith.constant 1.0 : f32
    %n = arith.negf %g : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %g, %d : f32
    %y = arith.mulf %s, %u : f32"""


def swiglu(x, W):
    h = F.linear(x, W["wgu"], W["bgu"])
    return F.silu(h[..., :H]) * h[..., H:]


def gated(xt, out, extra="", extra_ty="", extra_arg=""):
    return f"""func.func @main(%x: {xt}{extra_arg}) -> {out} {{
{ghead}  %y = tfm.linear %x, %w bias %b gated{extra} : ({xt}, {ty(G["wgu"].shape)}, {ty(G["bgu"].shape)}{extra_ty}) -> {out} epilogue {{
  ^bb0(%g: f32, %u: f32{", %res: f32" if extra else ""}):
    {SILU_MUL}{chr(10) + "    %z = arith.addf %y, %res : f32" if extra else ""}
    tfm.yield {"%z" if extra else "%y"} : f32
  }}
  return %y : {out}
}}
"""


check("gated_swiglu", gated(X, OH), [x], G, swiglu)
check("gated_swiglu_kblocks", gated(X, OH), [x], G, swiglu, args=["--gemm-kc=40"])
check("gated_residual", gated(X, OH, " inputs(%r)", f", {OH}", f", %r: {OH}"), [x, rh], G,
      lambda x, r, W: swiglu(x, W) + r)
x3 = randn(1, 3, K)
check("gated_gemv", gated(ty(x3.shape), ty((1, 3, H))), [x3], G, swiglu)
# Rows known at run time only (the sequence of a prefill), with K blocks.
DYN, ODYN = "tensor<1x?x96xf32>", f"tensor<1x?x{H}xf32>"
mlir = gated(DYN, ODYN).replace(
    f"%x: {DYN})", f'%x: {DYN} {{tfm.dim_names = ["", "seq", ""]}})').replace(
    f"-> {ODYN} {{\n", f'-> ({ODYN} {{tfm.dim_names = ["", "seq", ""]}}) attributes {{tfm.dim_bounds = {{seq = 64 : i64}}}} {{\n', 1)
x29 = randn(1, 29, K)
check("gated_dynamic_rows_kblocks", mlir, [x29], G, swiglu, args=["--gemm-kc=40"])

# The primitive form (a merged gate/up projection, its two halves, the
# activation and the product) becomes a gated linear in the pipeline.
glus = {
    "swiglu": ("tfm.silu %a : {O}", F.silu),
    "geglu_tanh": ("tfm.gelu %a approximate tanh : {O}", lambda t: F.gelu(t, approximate="tanh")),
}
for name, (act, f) in glus.items():
    O2 = ty(M + (2 * H,))
    mlir = f"""func.func @main(%x: {X}) -> {OH} {{
{ghead}  %h = tfm.linear %x, %w bias %b : ({X}, {ty(G["wgu"].shape)}, {ty(G["bgu"].shape)}) -> {O2}
  %a = tfm.slice %h axis 2 [0 : {H}] : {O2} -> {OH}
  %u = tfm.slice %h axis 2 [{H} : {2 * H}] : {O2} -> {OH}
  %g = {act.format(O=OH)}
  %y = tfm.mul %g, %u : {OH}, {OH}
  return %y : {OH}
}}
"""
    def ref(x, W, f=f):
        h = F.linear(x, W["wgu"], W["bgu"])
        return f(h[..., :H]) * h[..., H:]
    check("chain_" + name, mlir, [x], G, ref)
print("OK")
