"""Reads a Vulkan artifact's manifest and checks the plan (artifact.test)."""
import json
import os
import struct
import sys

art = sys.argv[1]
m = json.load(open(os.path.join(art, "manifest.json")))
t = m["target"]
print("target", t["kind"], "profile", t["profile"])
spv = open(os.path.join(art, t["kernels_file"]), "rb").read()
for k in t["kernels"]:
    assert struct.unpack_from("<I", spv, k["offset"])[0] == 0x07230203, k
    assert k["offset"] + 4 * k["words"] <= len(spv)
print("kernels.spv", len(spv), "bytes, every kernel a SPIR-V module")
entries = {e["name"]: e for e in m["entries"]}
pre = entries["prefill"]
names = [i["name"] for i in pre["inputs"]]
ops = pre["vulkan"]["scalars"]
assert ["dim", names.index("input_ids"), 1] in ops
assert ["index", names.index("past_length"), 0] in ops
print("prefill: scalars read dim(input_ids, 1) and index(past_length)")
d = pre["vulkan"]["dispatches"]
used = {x["kernel"] for x in d}
assert len(used) < len(d), "layers should share kernels"
print("prefill: %d dispatches of %d kernels" % (len(d), len(used)))
for e in m["entries"]:
    ds = e["vulkan"]["dispatches"]
    assert all(x.get("barrier") for x in ds[1:]) and not ds[0].get("barrier"), e["name"]
    for x in ds:
        assert all(0 <= g < len(e["vulkan"]["scalars"]) for g in x["groups"])
print("barriers OK")
st = lambda e: {i["name"]: b["offset"] for i, b in zip(e["inputs"], e["vulkan"]["inputs"])
                if b["buffer"] == "state"}
assert st(pre) == st(entries["decode"]) and len(st(pre)) == 8
print("state offsets shared by prefill and decode OK")
kinds = {i["name"]: b["buffer"] for i, b in zip(pre["inputs"], pre["vulkan"]["inputs"])}
print("inputs: input_ids %s, past_length %s, past_key_values.0.key %s" %
      (kinds["input_ids"], kinds["past_length"], kinds["past_key_values.0.key"]))
print("OK")
