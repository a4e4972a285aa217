"""Interrupts `tfmc MODEL -o OUT` once its temporary directory OUT.tmp-<pid>
exists (polling, so the test does not depend on how fast the machine is)
and reports what is left: the process must die of the signal, leave no
OUT.tmp-*/OUT.old-* directory, and leave OUT exactly as it was.

usage: interrupt_compile.py TFMC MODEL OUT SIGNAL"""
import os
import signal
import subprocess
import sys
import time

tfmc, model, out, sig = sys.argv[1:5]
parent, base = os.path.split(os.path.abspath(out))


def listing():
    if not os.path.isdir(out):
        return None
    return sorted((n, os.path.getsize(os.path.join(out, n))) for n in os.listdir(out))


before = listing()
p = subprocess.Popen([tfmc, model, "-o", out], stderr=subprocess.DEVNULL)
tmp = "%s.tmp-%d" % (out, p.pid)
deadline = time.time() + 120
while not os.path.isdir(tmp) and p.poll() is None and time.time() < deadline:
    time.sleep(0.01)
if p.poll() is not None:
    sys.exit("FAIL: tfmc finished before it could be interrupted")
time.sleep(0.2)  # let it write into the temporary directory
p.send_signal(getattr(signal, sig))
rc = p.wait()
left = [n for n in os.listdir(parent) if n.startswith(base + ".tmp-") or n.startswith(base + ".old-")]
after = listing()
print("%s: killed by %s: %s, leftovers %s, %s" % (
    sig, sig, rc == -getattr(signal, sig), left or "none",
    "output unchanged" if after == before else "output changed: %s -> %s" % (before, after)))
