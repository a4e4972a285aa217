"""Lets llama.cpp's convert_hf_to_gguf.py import under Debian's PyTorch 1.13:
it names dtypes that PyTorch 2.x added (float8 variants, uint16/32/64) in
tables it builds at import time. Our checkpoints never hold those types,
so each missing name becomes a distinct placeholder that no tensor has."""
import torch

for _name in ("float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "uint16", "uint32", "uint64"):
    if not hasattr(torch, _name):
        setattr(torch, _name, type("missing_dtype_" + _name, (), {})())
