"""Vulkan attention kernels at lengths the CPU cases do not reach: prefill
spanning many query and key blocks (causal, padded, cross), and the decode
(split-K) kernel: one query against caches of several 256-key chunks, with a
causal offset that ends mid-chunk, a padding mask, explicit heads, and a
head dimension of 128 (the shared-memory limit of lavapipe halves the key
block)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Integration", "CPU"))
from attention import case, padding  # noqa: E402  (runs attention.py's cases first)

case("long_causal", (1, 300, 64), (1, 300, 64), (1, 300, 64), 2, causal=True)
case("long_cross_padded", (2, 97, 96), (2, 413, 96), (2, 413, 96), 3,
     mask=padding(2, 413, [413, 250]))
case("decode_chunks", (1, 1, 96), (1, 1000, 96), (1, 1000, 96), 3, causal=True,
     offset=700)
case("decode_full", (2, 1, 96), (2, 777, 96), (2, 777, 96), 3,
     mask=padding(2, 777, [777, 300]))
case("decode_rank4", (1, 4, 1, 32), (1, 4, 513, 32), (1, 4, 513, 40), 4)
case("head128", (1, 70, 256), (1, 70, 256), (1, 70, 256), 2, causal=True)
case("decode_head128", (1, 1, 256), (1, 600, 256), (1, 600, 256), 2, causal=True,
     offset=599)
print("OK")
