"""Helpers for end-to-end tests: compile with tfmc, run with tfmc-run through
.npy files, compare with a reference at the project's tolerances."""
import os
import subprocess
import sys

import numpy as np

ATOL, RTOL = 1e-5, 1e-4

# TFMC_TEST_TARGET=vulkan compiles every model for the Vulkan backend (Mesa's
# lavapipe in CI) and runs it with the validation layers on: any validation
# message fails the test.
TARGET = os.environ.get("TFMC_TEST_TARGET", "cpu")
if TARGET == "vulkan":
    os.environ.setdefault("TFMC_VULKAN_VALIDATION", "1")


def target_args():
    if TARGET != "vulkan":
        return []
    # TFMC_TEST_VULKAN_TARGET=nvidia: the GPU profile's tiles, run on lavapipe.
    profile = os.environ.get("TFMC_TEST_VULKAN_TARGET")
    return ["--target=vulkan"] + (["--vulkan-target=" + profile] if profile else [])


def check_stderr(what, stderr):
    """Fails on Vulkan validation messages in a tool's stderr."""
    if "vulkan validation" in stderr:
        sys.exit("%s: Vulkan validation messages:\n%s" % (what, stderr))


def tool(name):
    return os.path.join(os.environ["TFMC_TOOLS"], name)


def compile_model(model, out, *args):
    r = subprocess.run([tool("tfmc"), model, "-o", out, *args, *target_args()],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tfmc %s failed:\n%s" % (model, r.stderr))
    return out


def run(artifact, inputs, entry="forward", threads=None):
    """Runs `entry` (None: tfmc-run's default) with {name: array} inputs;
    returns {name: array}."""
    work = artifact.rstrip("/") + ".io-" + (entry or "default")
    os.makedirs(work, exist_ok=True)
    cmd = [tool("tfmc-run"), artifact, "--output-dir", work + "/out"]
    if entry:
        cmd += ["--entry", entry]
    for name, a in inputs.items():
        path = os.path.join(work, name + ".npy")
        np.save(path, a)
        cmd += ["--input", "%s=%s" % (name, path)]
    if threads:
        cmd += ["--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tfmc-run %s failed:\n%s" % (artifact, r.stderr))
    check_stderr("tfmc-run " + artifact, r.stderr)
    outs = {}
    for f in sorted(os.listdir(work + "/out")):
        outs[f[:-4]] = np.load(os.path.join(work, "out", f))
    return outs


def compare(label, got, want, atol=ATOL, rtol=RTOL):
    """Prints the worst error; exits non-zero if outside atol + rtol*|want|."""
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        sys.exit("%s: shape %s, expected %s" % (label, got.shape, want.shape))
    err = np.abs(got - want)
    excess = err - (atol + rtol * np.abs(want))
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    ok = bool(np.all(excess <= 0))
    print("%s: max abs err %.2e (atol %.0e rtol %.0e) %s" %
          (label, err.max(), atol, rtol, "OK" if ok else "FAIL"))
    if not ok:
        sys.exit("%s: at %s got %r, expected %r" %
                 (label, worst, got[worst], want[worst]))
