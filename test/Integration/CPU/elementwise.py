"""Elementwise ops (NumPy broadcasting, unary functions over wide ranges),
reductions, embeddings and gathers, positional encodings, masks and shape
ops (reshape, transpose, slice, concat), lowered on their own (the fusion
pipeline leaves them unfused here)."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from harness import check, randn, rng, ty

import tfmc_ref

A = randn(2, 37, 96)
T = ty(A.shape)

# Binary ops with broadcast operands.
for op, f, b in [("add", torch.add, randn(96)), ("sub", torch.sub, randn(37, 1)),
                 ("mul", torch.mul, randn(2, 1, 96)), ("div", torch.div, randn(96) + 3),
                 ("pow", torch.pow, np.full((1,), 3.0, np.float32))]:
    a = np.abs(A) + 0.5 if op == "pow" else A
    mlir = f"""func.func @main(%a: {T}, %b: {ty(b.shape)}) -> {T} {{
  %r = tfm.{op} %a, %b : {T}, {ty(b.shape)}
  return %r : {T}
}}
"""
    check("binary_" + op, mlir, [a, b], None, lambda a, b, W, f=f: f(a, b))

# Unary functions over a wide range of inputs.
wide = (np.linspace(-12, 12, 2 * 37 * 96).reshape(2, 37, 96)).astype(np.float32)
for op, f, x in [("exp", torch.exp, np.linspace(-87, 88, 2 * 37 * 96)),
                 ("tanh", torch.tanh, wide), ("erf", torch.erf, wide),
                 ("sigmoid", torch.sigmoid, wide), ("silu", F.silu, wide),
                 ("cos", torch.cos, wide), ("sin", torch.sin, wide),
                 ("relu", F.relu, wide), ("gelu", F.gelu, wide),
                 ("sqrt", torch.sqrt, np.abs(wide)), ("rsqrt", torch.rsqrt, np.abs(wide) + 0.01)]:
    x = np.asarray(x, np.float32).reshape(A.shape)
    mlir = f"""func.func @main(%x: {T}) -> {T} {{
  %r = tfm.{op} %x : {T}
  return %r : {T}
}}
"""
    check("unary_" + op, mlir, [x], None, lambda x, W, f=f: f(x))
mlir = f"""func.func @main(%x: {T}) -> {T} {{
  %r = tfm.gelu %x approximate tanh : {T}
  return %r : {T}
}}
"""
check("unary_gelu_tanh", mlir, [wide], None, lambda x, W: F.gelu(x, approximate="tanh"))

# Reductions.
for op, f in [("reduce_sum", lambda x, d: x.sum(d, keepdim=True)),
              ("reduce_mean", lambda x, d: x.mean(d, keepdim=True)),
              ("reduce_max", lambda x, d: x.amax(d, keepdim=True))]:
    for axes in ([2], [1], [1, 2]):
        out = [1 if i in axes else s for i, s in enumerate(A.shape)]
        mlir = f"""func.func @main(%x: {T}) -> {ty(out)} {{
  %r = tfm.{op} %x {axes} keep_dims : {T} -> {ty(out)}
  return %r : {ty(out)}
}}
"""
        check("%s_%s" % (op, "_".join(map(str, axes))), mlir, [A], None,
              lambda x, W, f=f, axes=axes: f(x, axes))

# Embedding and gather; positional encodings (table computed at compile time).
table = randn(1000, 96)
ids = rng.integers(0, 1000, size=(2, 37)).astype(np.int64)
mlir = f"""func.func @main(%ids: {ty(ids.shape, 'i64')}) -> {T} {{
  %t = tfm.weight "table" : {ty(table.shape)}
  %e = tfm.embedding %t, %ids : ({ty(table.shape)}, {ty(ids.shape, 'i64')}) -> {T}
  %pe = tfm.positional_encoding : {ty((37, 96))}
  %r = tfm.add %e, %pe : {T}, {ty((37, 96))}
  return %r : {T}
}}
"""
check("embedding_sinusoidal", mlir, [ids], {"table": table},
      lambda ids, W: F.embedding(ids, W["table"]) + tfmc_ref.sinusoidal(37, 96))
idx = rng.integers(0, 37, size=(5,)).astype(np.int64)
mlir = f"""func.func @main(%x: {T}, %i: {ty(idx.shape, 'i64')}) -> {ty((2, 5, 96))} {{
  %g = tfm.gather %x, %i axis 1 : ({T}, {ty(idx.shape, 'i64')}) -> {ty((2, 5, 96))}
  return %g : {ty((2, 5, 96))}
}}
"""
check("gather_axis1", mlir, [A, idx], None, lambda x, i, W: x[:, i, :])

# Rotary position embeddings (cos | sin table computed at compile time):
# every feature, a partial rotation at a run-time offset (a dimension of a
# second input, as a KV cache's length would be), and the op's
# decomposition into primitives (tfm.cos, tfm.sin, slices, concat).
X = randn(2, 37, 3, 32, scale=3.0)
mlir = f"""func.func @main(%x: {ty(X.shape)}) -> {ty(X.shape)} {{
  %r = tfm.rotary %x base 1.000000e+04 : {ty(X.shape)}
  return %r : {ty(X.shape)}
}}
"""
check("rotary", mlir, [X], None, lambda x, W: tfmc_ref.rotary(x))
mlir = f"""func.func @main(%x: {ty(X.shape)}, %past: {ty((1, 1000))}) -> {ty(X.shape)} {{
  %c1 = arith.constant 1 : index
  %off = tensor.dim %past, %c1 : {ty((1, 1000))}
  %r = tfm.rotary %x offset %off base 5.000000e+05 dims 20 : {ty(X.shape)}
  return %r : {ty(X.shape)}
}}
"""
check("rotary_partial_offset", mlir, [X, randn(1, 1000)], None,
      lambda x, past, W: tfmc_ref.rotary(x, offset=1000, base=500000.0, rotary_dim=20),
      args=("--max-positions=1100",))
# Linear position scaling (rope_scaling = {type = "linear", factor = 4}).
mlir_scaled = mlir.replace("dims 20", "dims 20 scaling 4.000000e+00")
check("rotary_scaled", mlir_scaled, [X, randn(1, 1000)], None,
      lambda x, past, W: tfmc_ref.rotary(x, offset=1000, base=500000.0, rotary_dim=20,
                                         scaling=4.0),
      args=("--max-positions=1100",))
check("rotary_scaled_decomposed", mlir_scaled, [X, randn(1, 1000)], None,
      lambda x, past, W: tfmc_ref.rotary(x, offset=1000, base=500000.0, rotary_dim=20,
                                         scaling=4.0),
      args=("--max-positions=1100", "--decompose"))
check("rotary_decomposed", mlir, [X, randn(1, 1000)], None,
      lambda x, past, W: tfmc_ref.rotary(x, offset=1000, base=500000.0, rotary_dim=20),
      args=("--max-positions=1100", "--decompose"))
# Interleaved pairs (GPT-J): every feature of an odd head size's even part,
# and partially at an offset, as kernels and decomposed.
mlir_il = mlir.replace("dims 20", "dims 20 interleaved")
for decomposed in (False, True):
    check("rotary_interleaved" + ("_decomposed" if decomposed else ""), mlir_il,
          [X, randn(1, 1000)], None,
          lambda x, past, W: tfmc_ref.rotary(x, offset=1000, base=500000.0, rotary_dim=20,
                                             interleaved=True),
          args=("--max-positions=1100",) + (("--decompose",) if decomposed else ()))
XO = randn(1, 9, 2, 15, scale=3.0)
mlir = f"""func.func @main(%x: {ty(XO.shape)}) -> {ty(XO.shape)} {{
  %r = tfm.rotary %x base 1.000000e+04 dims 14 interleaved : {ty(XO.shape)}
  return %r : {ty(XO.shape)}
}}
"""
check("rotary_interleaved_odd_head", mlir, [XO], None,
      lambda x, W: tfmc_ref.rotary(x, rotary_dim=14, interleaved=True))

# Masks, materialised (not fused into an attention).
am = np.ones((2, 37), np.int64)
am[1, 30:] = 0
mlir = f"""func.func @main(%s: {ty((2, 3, 37, 37))}, %am: {ty(am.shape, 'i64')}) -> {ty((2, 3, 37, 37))} {{
  %c = tfm.causal_mask : {ty((37, 37))}
  %p = tfm.padding_mask %am : {ty(am.shape, 'i64')} -> {ty((2, 1, 1, 37))}
  %a = tfm.add %s, %c : {ty((2, 3, 37, 37))}, {ty((37, 37))}
  %b = tfm.add %a, %p : {ty((2, 3, 37, 37))}, {ty((2, 1, 1, 37))}
  return %b : {ty((2, 3, 37, 37))}
}}
"""
S = randn(2, 3, 37, 37)
check("masks", mlir, [S, am], None,
      lambda s, am, W: s + tfmc_ref.causal_mask(37, 37) + tfmc_ref.padding_mask(am))

# Shape ops: split heads, transpose, slice, concat, merge heads.
mlir = f"""func.func @main(%x: {ty((2, 37, 288))}) -> {ty((2, 37, 192))} {{
  %q = tfm.slice %x axis 2 [0 : 96] : {ty((2, 37, 288))} -> {T}
  %v = tfm.slice %x axis 2 [192 : 288] : {ty((2, 37, 288))} -> {T}
  %h = tfm.reshape %q : {T} -> {ty((2, 37, 3, 32))}
  %t = tfm.transpose %h [0, 2, 1, 3] : {ty((2, 37, 3, 32))} -> {ty((2, 3, 37, 32))}
  %u = tfm.transpose %t [0, 2, 1, 3] : {ty((2, 3, 37, 32))} -> {ty((2, 37, 3, 32))}
  %m = tfm.reshape %u : {ty((2, 37, 3, 32))} -> {T}
  %r = tfm.concat %v, %m axis 2 : ({T}, {T}) -> {ty((2, 37, 192))}
  return %r : {ty((2, 37, 192))}
}}
"""
check("shape_ops", mlir, [randn(2, 37, 288)], None,
      lambda x, W: torch.cat([x[..., 192:], x[..., :96]], 2))
print("OK")
