"""Copies an artifact directory and damages the copy in one way, for the
runtime's bad-input tests.

usage: mutate_artifact.py SRC DST ACTION [ARGS...]
  set PATH JSON      set a manifest field (PATH like entries.0.symbol)
  drop PATH          delete a manifest field
  text STRING        replace manifest.json with STRING
  truncate FILE N    cut FILE to N bytes (negative: drop the last -N)
  flip FILE OFFSET   invert one byte of FILE (negative: from the end)
  remove FILE        delete FILE
  garbage FILE       replace FILE with text
"""
import json
import os
import shutil
import sys

src, dst, action, *args = sys.argv[1:]
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst)
manifest = os.path.join(dst, "manifest.json")


def walk(m, path):
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        m = m[k]
    return m, keys[-1]


if action in ("set", "drop"):
    with open(manifest) as f:
        m = json.load(f)
    parent, key = walk(m, args[0])
    if action == "set":
        parent[key] = json.loads(args[1])
    else:
        del parent[key]
    with open(manifest, "w") as f:
        json.dump(m, f, indent=2)
elif action == "text":
    with open(manifest, "w") as f:
        f.write(args[0])
else:
    path = os.path.join(dst, args[0])
    if action == "truncate":
        n = int(args[1])
        size = os.path.getsize(path)
        os.truncate(path, n if n >= 0 else size + n)
    elif action == "flip":
        at = int(args[1])
        at = at if at >= 0 else os.path.getsize(path) + at
        with open(path, "r+b") as f:
            f.seek(at)
            b = f.read(1)
            f.seek(at)
            f.write(bytes([b[0] ^ 0xFF]))
    elif action == "remove":
        os.remove(path)
    elif action == "garbage":
        with open(path, "w") as f:
            f.write("this is not what you expected\n")
    else:
        sys.exit("unknown action " + action)
