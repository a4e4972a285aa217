"""Writes the .npy files (good and malformed) of tfmc-run's input tests into
a directory, for the encoder example (batch 2, sequence 37, vocabulary 1000).

usage: make_npy.py DIR
"""
import os
import struct
import sys

import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
ids = rng.integers(0, 1000, size=(2, 37))
p = lambda name: os.path.join(d, name)

np.save(p("ids.npy"), ids.astype(np.int64))
np.save(p("ids32.npy"), ids.astype(np.int32))
np.save(p("mask.npy"), np.ones((2, 37), np.int64))
np.save(p("types.npy"), np.zeros((2, 37), np.int64))
np.save(p("ids_short.npy"), ids[:, :30].astype(np.int64))
np.save(p("ids_float.npy"), ids.astype(np.float32))
np.save(p("ids_f64.npy"), ids.astype(np.float64))
big = ids.copy()
big[1, 5] = 1000
np.save(p("ids_1000.npy"), big.astype(np.int64))
neg = ids.copy()
neg[0, 0] = -3
np.save(p("ids_negative.npy"), neg.astype(np.int64))
np.save(p("ids_bigendian.npy"), ids.astype(">i8"))
np.save(p("ids_fortran.npy"), np.asfortranarray(ids.astype(np.int64)))
# Version 2.0 header (read like 1.0) and 3.0 (refused).
np.lib.format.write_array(open(p("ids_v2.npy"), "wb"), ids.astype(np.int64), version=(2, 0))
blob = open(p("ids.npy"), "rb").read()
open(p("ids_v3.npy"), "wb").write(blob[:6] + b"\x03\x00" + struct.pack("<I", 118)
                                  + blob[10:])
open(p("ids_truncated.npy"), "wb").write(blob[:-8])
# Dimensions whose product wraps around 2^64 bytes to 2^35 (it must not
# pass as a truncated 32 GiB array, or as anything else).
wrap = "{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967297), }"
wrap = wrap.ljust(118) + "\n"
open(p("ids_wrap.npy"), "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(wrap))
                                    + wrap.encode() + b"\0" * 16)
open(p("ids_trailing.npy"), "wb").write(blob + b"\0" * 8)
open(p("not_npy.npy"), "wb").write(b"input_ids = [1, 2, 3]\n")
open(p("bad_header.npy"), "wb").write(blob[:10] + b"{'descr': '<i8', 'shape': (2, 37)}".ljust(118) + blob[128:])
