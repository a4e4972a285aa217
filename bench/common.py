"""Helpers shared by the benchmark scripts: where the tools are, ONNX
Runtime sessions configured as a user would run them, and best-of-N timing."""
import os
import time


def tool(name):
    return os.path.join(os.environ.get("TFMC_TOOLS", "build/bin"), name)


def ort_session(model, threads):
    """An ORT CPU session for `model` (a path or serialized bytes) with
    intra_op_num_threads = ours and graph optimisations at ORT_ENABLE_ALL."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def best_ms(fn, runs, warmup=0):
    """The fastest of `runs` calls of fn, in milliseconds."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best
