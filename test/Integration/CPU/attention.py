"""Flash-attention lowering: non-causal and causal self-attention, cross
attention (Sk != Sq), padding masks, causal + padding together, heads
explicit (rank 4), sequences spanning several query/key blocks, a KV-cache
style offset, large scores that overflow a naive exp, and grouped-query
attention (kv_heads < heads; K/V heads shared by groups of query heads) in
both layouts, with masks and in decode; sliding windows (query p sees keys
p - W < j <= p, as transformers' Mistral mask) over several key blocks,
with an offset, in decode, with padding."""
import math

import numpy as np
import torch

from harness import check, randn, ty

NEG = -1.0e9


def reference(q, k, v, heads, scale, mask=None, causal=False, offset=0, kv_heads=None,
              window=None):
    """softmax(Q K^T * scale + mask) V, heads folded into features (rank 3)
    or explicit (rank 4), as tfm.attention defines it; with kv_heads, K/V
    heads repeated over their groups (transformers' repeat_kv)."""
    kv = kv_heads or heads
    folded = q.dim() == 3
    if folded:
        split = lambda t, n: t.reshape(t.shape[0], t.shape[1], n, -1).transpose(1, 2)
        q, k, v = split(q, heads), split(k, kv), split(v, kv)
    if kv != heads:
        k = k.repeat_interleave(heads // kv, dim=1)
        v = v.repeat_interleave(heads // kv, dim=1)
    s = (q @ k.transpose(-1, -2)) * scale
    if mask is not None:
        s = s + mask
    if causal:
        i = torch.arange(s.shape[-2])[:, None] + offset
        j = torch.arange(s.shape[-1])[None, :]
        s = s + torch.where(j > i, torch.tensor(NEG), torch.tensor(0.0))
        if window:
            s = s + torch.where(j <= i - window, torch.tensor(NEG), torch.tensor(0.0))
    o = torch.softmax(s, -1) @ v
    if folded:
        o = o.transpose(1, 2).reshape(o.shape[0], o.shape[2], -1)
    return o


def case(name, qs, ks, vs, heads, causal=False, mask=None, offset=None, scale=None,
         qscale=1.0, kv_heads=None, window=None):
    q, k, v = randn(*qs, scale=qscale), randn(*ks), randn(*vs)
    d = qs[-1] // heads if len(qs) == 3 else qs[-1]
    scale = scale or 1.0 / math.sqrt(d)
    # Folded layout: heads x the value head size (vs[-1] / kv_heads).
    out = list(qs[:-1]) + [vs[-1] if len(qs) == 4 else heads * (vs[-1] // (kv_heads or heads))]
    inputs = [q, k, v]
    args = [f"%q: {ty(qs)}", f"%k: {ty(ks)}", f"%v: {ty(vs)}"]
    types = [ty(qs), ty(ks), ty(vs)]
    extra = ""
    if mask is not None:
        inputs.append(mask)
        args.append(f"%m: {ty(mask.shape)}")
        types.append(ty(mask.shape))
        extra += " mask %m"
    pre = ""
    if offset is not None:
        pre = f"  %off = arith.constant {offset} : index\n"
        extra += " offset %off"
        types.append("index")
    mlir = f"""func.func @main({', '.join(args)}) -> {ty(out)} {{
{pre}  %o = tfm.attention %q, %k, %v{extra} heads {heads}{f' kv_heads {kv_heads}' if kv_heads else ''} scale {scale:.17e}{' causal' if causal else ''}{f' window {window}' if window else ''} : ({', '.join(types)}) -> {ty(out)}
  return %o : {ty(out)}
}}
"""

    def ref(*a):
        m = a[3] if mask is not None else None
        return reference(a[0], a[1], a[2], heads, scale, m, causal, offset or 0, kv_heads,
                         window)
    check("attention_" + name, mlir, inputs, None, ref)


def padding(b, sk, lengths):
    m = np.zeros((b, 1, 1, sk), dtype=np.float32)
    for i, n in enumerate(lengths):
        m[i, ..., n:] = NEG
    return m


case("self", (2, 37, 96), (2, 37, 96), (2, 37, 96), 3)
case("causal", (1, 37, 96), (1, 37, 96), (1, 37, 96), 3, causal=True)
case("causal_blocks", (1, 150, 64), (1, 150, 64), (1, 150, 64), 2, causal=True)
case("cross", (2, 29, 96), (2, 37, 96), (2, 37, 96), 3)
case("cross_padded", (2, 29, 96), (2, 37, 96), (2, 37, 96), 3, mask=padding(2, 37, [37, 30]))
case("causal_padded", (2, 37, 96), (2, 37, 96), (2, 37, 96), 3, causal=True,
     mask=padding(2, 37, [37, 21]))
case("rank4", (2, 3, 37, 32), (2, 3, 41, 32), (2, 3, 41, 24), 3)
case("full_mask", (1, 4, 33, 16), (1, 4, 70, 16), (1, 4, 70, 16), 4,
     mask=randn(1, 4, 33, 70, scale=3.0))
case("offset", (1, 5, 64), (1, 40, 64), (1, 40, 64), 4, causal=True, offset=35)
case("large_scores", (1, 37, 64), (1, 37, 64), (1, 37, 64), 2, qscale=40.0)
case("v_width", (2, 37, 96), (2, 37, 96), (2, 37, 48), 3)
# Grouped-query attention: 6 query heads over 2 (and 1: multi-query) K/V heads.
case("gqa", (2, 37, 96), (2, 41, 32), (2, 41, 32), 6, kv_heads=2)
case("gqa_causal_padded", (2, 37, 96), (2, 37, 32), (2, 37, 32), 6, causal=True,
     mask=padding(2, 37, [37, 23]), kv_heads=2)
case("mqa_rank4", (2, 6, 37, 16), (2, 1, 41, 16), (2, 1, 41, 24), 6, kv_heads=1)
case("gqa_decode", (1, 1, 96), (1, 64, 32), (1, 64, 32), 6, causal=True, offset=50,
     kv_heads=2)
# Sliding windows: shorter than a key block and spanning several.
case("window", (1, 37, 96), (1, 37, 96), (1, 37, 96), 3, causal=True, window=5)
case("window_blocks", (1, 150, 64), (1, 150, 64), (1, 150, 64), 2, causal=True, window=45)
case("window_offset_gqa", (1, 7, 96), (1, 60, 32), (1, 60, 32), 6, causal=True, offset=53,
     kv_heads=2, window=19)
case("window_decode", (1, 1, 96), (1, 300, 32), (1, 300, 32), 6, causal=True, offset=280,
     kv_heads=2, window=37)
# (Every query keeps a visible key: a padded query whose whole window is
# padding has no defined result; transformers averages the masked keys.)
case("window_padded", (2, 37, 96), (2, 37, 96), (2, 37, 96), 3, causal=True, window=9,
     mask=padding(2, 37, [37, 33]))
print("OK")
