"""tfm.relative_position_bias against transformers' T5 bucketing
(T5Attention._relative_position_bucket, then the table lookup): encoder
buckets (bidirectional) and decoder buckets (causal), distances below,
inside and beyond max_distance, the log-bucket boundaries where PyTorch's
f32 rounding decides, odd bucket counts and a KV-cache offset. The bias is
a lookup, so results must be exact."""
import numpy as np
import torch
from transformers.models.t5.modeling_t5 import T5Attention

from harness import check, randn, ty


def reference(table, q, k, offset, buckets, max_distance, bidirectional):
    ctx = torch.arange(q)[:, None] + offset
    mem = torch.arange(k)[None, :]
    b = T5Attention._relative_position_bucket(mem - ctx, bidirectional=bidirectional,
                                              num_buckets=buckets, max_distance=max_distance)
    return table[b].permute(2, 0, 1).unsqueeze(0)


for name, (buckets, heads, q, k, offset, dist, bidir) in {
    "t5_encoder": (32, 6, 37, 37, 0, 128, True),
    "t5_encoder_long": (32, 3, 300, 300, 0, 128, True),
    "t5_decoder": (32, 6, 29, 29, 0, 128, False),
    "decoder_offset_row": (32, 4, 1, 300, 250, 128, False),
    "odd_buckets": (19, 5, 90, 77, 3, 40, True),
    "short_distance": (48, 2, 120, 130, 0, 30, False),
}.items():
    T = randn(buckets, heads)
    o = f"%o = arith.constant {offset} : index\n  " if offset else ""
    off = " offset %o" if offset else ""
    R = ty((1, heads, q, k))
    mlir = f"""func.func @main(%t: {ty(T.shape)}) -> {R} {{
  {o}%b = tfm.relative_position_bias %t{off} max_distance {dist}{" bidirectional" if bidir else ""} : {ty(T.shape)} -> {R}
  return %b : {R}
}}
"""
    check(name, mlir, [T], None,
          lambda t, W, a=(q, k, offset, buckets, dist, bidir): reference(t, *a),
          atol=0.0, rtol=0.0)
print("OK")
