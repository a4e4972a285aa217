"""Writes the malformed model inputs the bad-input CLI tests feed to tfmc.

usage: make_bad_inputs.py DIR
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import numpy as np  # noqa: E402
import tfmc_ref  # noqa: E402

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
cfg = dict(family="decoder", vocab_size=50, d_model=12, num_heads=3, d_ff=16,
           max_seq_len=8, decoder_layers=1, norm_placement="pre",
           positional_encoding="learned")
model = tfmc_ref.make_model(cfg)
weights = model.named_weights()


def raw(path, header, data=b"", length=None):
    text = json.dumps(header).encode()
    with open(os.path.join(d, path), "wb") as f:
        f.write(struct.pack("<Q", len(text) if length is None else length))
        f.write(text)
        f.write(data)


def model_toml(name, weights_file, **extra):
    tfmc_ref.write_toml(os.path.join(d, name), dict(cfg, **extra), weights_file=weights_file)


# A valid checkpoint, and models pointing at broken ones.
tfmc_ref.save_safetensors(os.path.join(d, "good.safetensors"), weights)
model_toml("good.toml", "good.safetensors")
for case in ["truncated", "header-beyond-file", "header-too-large", "overlap",
             "shape-bytes-mismatch", "unknown-dtype", "int-dtype", "not-json",
             "tiny", "missing-weight", "wrong-shape", "absent"]:
    model_toml(case + ".toml", case + ".safetensors")

one = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
raw("truncated.safetensors", {"w": one}, b"\0" * 10)
raw("header-beyond-file.safetensors", {"w": one}, b"\0" * 16, length=4096)
raw("header-too-large.safetensors", {"w": one}, b"\0" * 16, length=1 << 40)
raw("overlap.safetensors",
    {"a": one, "b": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]}},
    b"\0" * 24)
raw("shape-bytes-mismatch.safetensors",
    {"w": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 16]}}, b"\0" * 16)
raw("unknown-dtype.safetensors",
    {"w": {"dtype": "F99", "shape": [2, 2], "data_offsets": [0, 16]}}, b"\0" * 16)
with open(os.path.join(d, "not-json.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", 9) + b"{not json" + b"\0" * 8)
with open(os.path.join(d, "tiny.safetensors"), "wb") as f:
    f.write(b"\1\2\3")
# A complete checkpoint whose token embedding is stored as integers.
ints = dict(weights)
header, blobs, off = {}, [], 0
for k in sorted(ints):
    a = np.asarray(ints[k], dtype=np.float32)
    b = a.astype("<i4").tobytes() if k == "embed_tokens.weight" else a.tobytes()
    header[k] = {"dtype": "I32" if k == "embed_tokens.weight" else "F32",
                 "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
raw("int-dtype.safetensors", header, b"".join(blobs))
w = dict(weights)
del w["layers.0.ffn.fc2.weight"]
tfmc_ref.save_safetensors(os.path.join(d, "missing-weight.safetensors"), w)
w = dict(weights)
w["layers.0.ffn.fc1.weight"] = np.zeros((15, 12), np.float32)
tfmc_ref.save_safetensors(os.path.join(d, "wrong-shape.safetensors"), w)

# Hugging Face folders.
def hf(name, config, with_weights=True):
    folder = os.path.join(d, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config if isinstance(config, str) else json.dumps(config, indent=2))
    if with_weights:
        tfmc_ref.save_safetensors(os.path.join(folder, "model.safetensors"),
                                  {"wte.weight": np.zeros((4, 4), np.float32)})

gpt2 = dict(model_type="gpt2", n_embd=100, n_head=4, n_layer=1, vocab_size=50,
            n_positions=8)
hf("hf-bart", dict(model_type="bart", d_model=64))
hf("hf-heads", dict(gpt2, n_head=3))
hf("hf-activation", dict(gpt2, activation_function="mish"))
hf("hf-no-weights", gpt2, with_weights=False)
hf("hf-bad-json", '{\n  "model_type": "gpt2",\n  "n_embd": 100,,\n}\n')
hf("hf-cross", dict(gpt2, add_cross_attention=True))
print("wrote bad inputs to", d)
