"""GEMM lowering: packed-weight linears with sizes that are not multiples of
the micro-kernel tile (MR x NR) in M, N or K, several K blocks and row
chunks, GPT-2-style [K, N] weights,
single-row (decode) shapes, and matmuls whose right operand is packed at run
time (batched, transposed, broadcast)."""
import torch.nn.functional as F

from harness import check, randn, ty

# linear: (batch dims, M, K, N, bias, weight_kn, tfmc flags)
for name, lead, k, n, bias, kn, *flags in [
        ("linear_odd", (3, 37), 75, 53, True, False),
        ("linear_blocks", (1, 130), 260, 300, False, False),
        ("linear_kn", (2, 19), 96, 288, True, True),
        ("linear_row", (1, 1), 96, 1000, False, False),
        ("linear_tiny", (5,), 3, 7, True, False),
        ("linear_k1", (4, 9), 1, 33, True, False),
        # K blocks (partial sums through C; the last block is short) and row
        # chunks that end inside a chunk.
        ("linear_kblocks", (2, 45), 1100, 70, True, False),
        ("linear_small_blocks", (3, 37), 150, 45, True, True, "--gemm-kc=40", "--gemm-mc=28")]:
    x = randn(*lead, k)
    w = randn(*((k, n) if kn else (n, k)), scale=0.2)
    b = randn(n)
    weights = {"w": w, **({"b": b} if bias else {})}
    out = lead + (n,)
    sig = [ty(x.shape), ty(w.shape)] + ([ty(b.shape)] if bias else [])
    mlir = f"""func.func @main(%x: {ty(x.shape)}) -> {ty(out)} {{
  %w = tfm.weight "w" : {ty(w.shape)}
  {'%b = tfm.weight "b" : ' + ty(b.shape) if bias else ''}
  %y = tfm.linear %x, %w {'bias %b' if bias else ''} {'weight_kn' if kn else ''} : ({', '.join(sig)}) -> {ty(out)}
  return %y : {ty(out)}
}}
"""
    check(name, mlir, [x], weights,
          lambda x, W, kn=kn, bias=bias: F.linear(x, W["w"].t() if kn else W["w"],
                                                  W["b"] if bias else None), args=flags)

# matmul on activations: (lhs, rhs, transpose_rhs)
for name, a_shape, b_shape, tr in [
        ("matmul_batched", (2, 3, 37, 32), (2, 3, 32, 41), False),
        ("matmul_transposed", (2, 37, 48), (2, 29, 48), True),
        ("matmul_broadcast", (2, 3, 17, 24), (24, 35), False)]:
    a, b = randn(*a_shape), randn(*b_shape)
    out = list(a_shape[:-1]) + [b_shape[-2] if tr else b_shape[-1]]
    if len(b_shape) > len(a_shape):
        out = list(b_shape[:-2]) + out[-2:]
    mlir = f"""func.func @main(%a: {ty(a.shape)}, %b: {ty(b.shape)}) -> {ty(out)} {{
  %y = tfm.matmul %a, %b {'transpose_rhs' if tr else ''} : ({ty(a.shape)}, {ty(b.shape)}) -> {ty(out)}
  return %y : {ty(out)}
}}
"""
    check(name, mlir, [a, b], None,
          lambda a, b, W, tr=tr: a @ (b.transpose(-1, -2) if tr else b))
print("OK")
