"""Per-call overhead of running a model from Python: tfmc's session.run next
to ONNX Runtime's InferenceSession.run and OpenVINO's compiled-model call,
on the same tiny model (bench/e2e.py's `tiny`: a 2-layer d_model-16 decoder
on 4 tokens, where the computation itself takes a few microseconds), same
thread count, each peer in its own process. tfmc's C-level time (tfmc-run
--bench, no Python) is the floor: the difference is what the binding adds.

usage: python_overhead.py WORKDIR [--threads N] [--calls N] [--json OUT]
  run with a Python that has the tfmc package (pip install .); the peers
  run with bench/.venv's Python (bench/setup.sh installs onnxruntime and
  openvino there).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "test", "lib"))
from common import tool  # noqa: E402

PEER_PY = os.path.join(HERE, ".venv", "bin", "python")


def times_us(fn, calls):
    for _ in range(50):
        fn()
    t = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return dict(median_us=1e6 * statistics.median(t), min_us=1e6 * min(t))


def feed():
    rng = np.random.default_rng(4)  # e2e.py's tiny inputs
    return {"input_ids": rng.integers(0, 64, size=(1, 4)).astype(np.int64)}


def peer(kind, work, threads, calls):
    x = feed()
    if kind == "tfmc":
        import tfmc
        model = tfmc.load(os.path.join(work, "tiny.out"))
        s = model.session("forward")
        s.set_num_threads(threads)
        out = s.run(x)["logits"]
        r = times_us(lambda: s.run(x), calls)
        r["version"] = tfmc.__version__
        # The same run without the package's input/output handling: the
        # extension's call alone (inputs stay bound, outputs not rebound).
        raw = times_us(s._s.run, calls)
        r["raw_median_us"], r["raw_min_us"] = raw["median_us"], raw["min_us"]
    elif kind == "ort":
        import onnxruntime as ort
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(work, "tiny.onnx"), o,
                                    providers=["CPUExecutionProvider"])
        out = sess.run(None, x)[0]
        r = times_us(lambda: sess.run(None, x), calls)
        r["version"] = ort.__version__
    else:
        import openvino as ov
        core = ov.Core()
        cm = core.compile_model(os.path.join(work, "tiny.onnx"), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY"})
        req = cm.create_infer_request()
        out = req.infer(x)[cm.output(0)]
        r = times_us(lambda: req.infer(x), calls)
        r["version"] = ov.__version__.split("-")[0]
    np.save(os.path.join(work, "tiny.%s.npy" % kind), np.asarray(out))
    print(json.dumps(r))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("work")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--json")
    p.add_argument("--peer")
    a = p.parse_args()
    if a.peer:
        return peer(a.peer, a.work, a.threads, a.calls)
    os.makedirs(a.work, exist_ok=True)
    e2e = [PEER_PY, os.path.join(HERE, "e2e.py"), a.work]
    if not os.path.exists(os.path.join(a.work, "tiny", "model.toml")):
        subprocess.run(e2e + ["--prepare", "tiny"], check=True)
    if not os.path.exists(os.path.join(a.work, "tiny.onnx")):
        subprocess.run(e2e + ["--peer", "export", "--case", "tiny"],
                       check=True)
    art = os.path.join(a.work, "tiny.out")
    subprocess.run([tool("tfmc"), os.path.join(a.work, "tiny", "model.toml"),
                    "--seq-len", "4", "-o", art], check=True)
    ids = ",".join(str(v) for v in feed()["input_ids"][0])
    out = subprocess.run([tool("tfmc-run"), art, "--tokens", ids, "--threads",
                          str(a.threads), "--bench", str(a.calls)],
                         check=True, capture_output=True, text=True).stdout
    c_min = 1e3 * float(re.search(r"min ([0-9.]+) ms", out).group(1))
    c_med = re.search(r"median ([0-9.]+) ms", out)
    rows = {"tfmc C API (tfmc-run)": dict(
        min_us=c_min, median_us=1e3 * float(c_med.group(1)) if c_med
        else float("nan"))}
    for kind, py, label in (("tfmc", sys.executable, "tfmc Python"),
                            ("ort", PEER_PY, "ONNX Runtime Python"),
                            ("openvino", PEER_PY, "OpenVINO Python")):
        r = subprocess.run([py, __file__, a.work, "--peer", kind, "--threads",
                            str(a.threads), "--calls", str(a.calls)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("%s: failed: %s" % (label, r.stderr.strip()[-300:]))
            continue
        rows[label] = json.loads(r.stdout)
        if kind == "tfmc":
            t = rows[label]
            rows["tfmc extension call only"] = dict(
                median_us=t.pop("raw_median_us"), min_us=t.pop("raw_min_us"))
    ref = np.load(os.path.join(a.work, "tiny.tfmc.npy"))
    print("tiny model (2 layers, d_model 16, 4 tokens), %d threads, %d calls"
          % (a.threads, a.calls))
    print("%-24s | %10s | %10s | %s" % ("", "median us", "min us",
                                         "max |out - tfmc|"))
    for label, r in rows.items():
        kind = {"tfmc Python": "tfmc", "ONNX Runtime Python": "ort",
                "OpenVINO Python": "openvino"}.get(label)
        err = ""
        if kind:
            err = "%.1e" % float(np.abs(np.load(os.path.join(
                a.work, "tiny.%s.npy" % kind)).reshape(ref.shape) - ref).max())
        print("%-24s | %10.1f | %10.1f | %s %s" % (
            label, r["median_us"], r["min_us"], err, r.get("version", "")))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(threads=a.threads, calls=a.calls, rows=rows), f,
                      indent=2)


if __name__ == "__main__":
    main()
