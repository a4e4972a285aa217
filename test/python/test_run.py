"""Compiling and running from Python: equal to the CLI bit for bit, every
runtime dtype, no copies, errors, threads."""
import json
import os
import threading

import numpy as np
import pytest

import tfmc
from conftest import ROOT, cli, tool


def encoder_feed(seed=0):
    rng = np.random.default_rng(seed)
    return {"input_ids": rng.integers(0, 1000, (2, 37), dtype=np.int64),
            "attention_mask": np.ones((2, 37), np.int64),
            "token_type_ids": rng.integers(0, 2, (2, 37), dtype=np.int64)}


@pytest.fixture(scope="module")
def encoder(artifacts):
    return artifacts("encoder", "examples/models/encoder.toml").load()


def test_signature(encoder):
    assert encoder.family == "encoder" and encoder.device == "cpu"
    assert list(encoder.entries) == ["forward"]
    ids = encoder.inputs[0]
    assert (ids.name, ids.dtype, ids.shape, ids.id_bound) == (
        "input_ids", np.dtype(np.int64), (2, 37), 1000)
    out = encoder.outputs[0]
    assert (out.name, out.dtype, out.shape) == (
        "last_hidden_state", np.dtype(np.float32), (2, 37, 96))
    assert encoder.metadata["max_seq_len"] == 64


def test_equals_cli(encoder, tmp_path):
    """The same artifact through tfmc-run: identical bits."""
    feed = encoder_feed(1)
    got = encoder.session().run(feed)["last_hidden_state"]
    args = [tool("tfmc-run"), encoder.path, "--output-dir", tmp_path / "out"]
    for name, a in feed.items():
        np.save(tmp_path / (name + ".npy"), a)
        args += ["--input", "%s=%s" % (name, tmp_path / (name + ".npy"))]
    cli(*args)
    want = np.load(tmp_path / "out" / "last_hidden_state.npy")
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


def test_inputs_are_read_in_place(encoder):
    s = encoder.session()
    feed = encoder_feed(2)
    first = s.run(feed)["last_hidden_state"]
    ids = feed["input_ids"]
    ids[0, 0] = (ids[0, 0] + 1) % 1000  # the session reads this array
    second = s.run()["last_hidden_state"]
    assert not np.array_equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])
    assert np.array_equal(second, encoder.session().run(feed)
                          ["last_hidden_state"])


def test_outputs_are_written_in_place(encoder):
    s = encoder.session()
    a = s.run(encoder_feed(3))["last_hidden_state"]
    assert a.__array_interface__["data"][0] == \
        s.output_address("last_hidden_state")
    assert a.flags.owndata and a.flags.writeable
    b = s.run(encoder_feed(4))["last_hidden_state"]
    # Each run's outputs are its own: the first is still intact.
    assert not np.array_equal(a, b)
    assert np.array_equal(a, encoder.session().run(encoder_feed(3))
                          ["last_hidden_state"])


def test_non_contiguous_and_int32_inputs(encoder):
    feed = encoder_feed(5)
    want = encoder.run(feed)["last_hidden_state"]
    wide = np.zeros((2, 74), np.int64)
    wide[:, ::2] = feed["input_ids"]
    strided = dict(feed, input_ids=wide[:, ::2])
    assert not strided["input_ids"].flags.c_contiguous
    assert np.array_equal(encoder.run(strided)["last_hidden_state"], want)
    narrow = {k: v.astype(np.int32) for k, v in feed.items()}
    assert np.array_equal(encoder.run(narrow)["last_hidden_state"], want)


DTYPES_MLIR = """
func.func @forward(%a: tensor<2x3xf16>, %b: tensor<2x3xbf16>,
                   %c: tensor<2x3xi8>, %d: tensor<2x3xi1>,
                   %e: tensor<2x3xi32>, %f: tensor<2x3xf32>,
                   %g: tensor<2x3xi64>)
    -> (tensor<2x3xf16>, tensor<2x3xbf16>, tensor<2x3xi8>, tensor<2x3xi1>,
        tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x3xi64>) {
  return %a, %b, %c, %d, %e, %f, %g : tensor<2x3xf16>, tensor<2x3xbf16>,
      tensor<2x3xi8>, tensor<2x3xi1>, tensor<2x3xi32>, tensor<2x3xf32>,
      tensor<2x3xi64>
}
"""


def test_every_dtype_round_trips(tmp_path):
    src = tmp_path / "dtypes.mlir"
    src.write_text(DTYPES_MLIR)
    model = tfmc.compile(src).load()
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((2, 3)).astype(np.float32)
    feed = {
        "a": rng.standard_normal((2, 3)).astype(np.float16),
        # bfloat16 as uint16 bit patterns: the upper halves of float32s.
        "b": (f32.view(np.uint32) >> 16).astype(np.uint16),
        "c": rng.integers(-128, 128, (2, 3), dtype=np.int8),
        "d": rng.integers(0, 2, (2, 3)).astype(np.bool_),
        "e": rng.integers(-2**31, 2**31, (2, 3), dtype=np.int32),
        "f": f32,
        "g": rng.integers(-2**62, 2**62, (2, 3), dtype=np.int64),
    }
    names = [t.name for t in model.inputs]
    specs = {t.name: t.dtype for t in model.inputs}
    outs = model.run({n: feed[k] for n, k in zip(names, "abcdefg")})
    for (name, arr), key in zip(outs.items(), "abcdefg"):
        assert arr.dtype == feed[key].dtype == specs[names["abcdefg".index(
            key)]], name
        assert np.array_equal(arr, feed[key]), name


def test_dynamic_lengths(artifacts):
    model = artifacts("char-gpt", "examples/models/char-gpt/model.toml").load()
    assert "prefill" in model.entries
    fwd = model.entries["forward"]
    ids = fwd.inputs[0]
    assert ids.shape[1] is None and ids.dim_names[1] == "seq"
    s = model.session("forward")
    for n in (1, 5, 17):
        out = s.run({"input_ids": np.arange(n, dtype=np.int64)[None] % 40})
        assert out["logits"].shape[:2] == (1, n)
        assert out["logits"].base is not None or out["logits"].shape == \
            fwd.outputs[0].max_shape


def test_runtime_errors(encoder, tmp_path):
    s = encoder.session()
    feed = encoder_feed()
    with pytest.raises(tfmc.MissingInputError, match="input_ids") as e:
        s.run({"attention_mask": feed["attention_mask"]})
    assert e.value.status == "TFMC_ERROR_MISSING_INPUT"
    with pytest.raises(tfmc.DTypeError, match="must be int64, got float32"):
        s.run({"input_ids": feed["input_ids"].astype(np.float32)})
    with pytest.raises(tfmc.ShapeError, match=r"must have shape \[2, 37\], "
                       r"got \[2, 5\]"):
        s.run({"input_ids": feed["input_ids"][:, :5].copy()})
    bad = feed["input_ids"].copy()
    bad[1, 3] = 5000
    with pytest.raises(tfmc.RangeError, match=r"\[1, 3\] = 5000 is out of "
                       r"range"):
        s.run({"input_ids": bad})
    with pytest.raises(tfmc.NotFoundError, match="has no input 'ids'.*"
                       "input_ids"):
        s.run({"ids": feed["input_ids"]})
    with pytest.raises(tfmc.NotFoundError, match="no entry point 'decode'|"
                       "decode"):
        encoder.session("decode")
    # The same exceptions as built-in kinds.
    with pytest.raises(ValueError):
        s.run({"input_ids": bad})
    with pytest.raises(KeyError):
        s.run({"ids": feed["input_ids"]})


def test_bad_artifacts(encoder, tmp_path):
    with pytest.raises(tfmc.FileError, match="missing: not an artifact "
                       "directory"):
        tfmc.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(tfmc.FileError, match="empty/manifest.json: cannot "
                       "open"):
        tfmc.load(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in os.listdir(encoder.path):
        os.symlink(os.path.join(encoder.path, f), broken / f)
    os.unlink(broken / "manifest.json")
    text = open(os.path.join(encoder.path, "manifest.json")).read()
    (broken / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(tfmc.FormatError, match="manifest.json"):
        tfmc.load(broken)
    with pytest.raises(ValueError, match="compiled for the CPU"):
        tfmc.load(encoder.path, device="vulkan")
    with pytest.raises(ValueError, match="device must be"):
        tfmc.load(encoder.path, device="gpu")


def test_compile_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nfamily = "encoder"\nd_model = "wide"\n')
    with pytest.raises(tfmc.CompileError) as e:
        tfmc.compile(bad, tmp_path / "out")
    msg = str(e.value)
    assert str(bad) in msg and "error" in msg, msg
    # The same located message as the CLI prints, and nothing written.
    rc, _, stderr = cli(tool("tfmc"), bad, "-o", tmp_path / "out2",
                        check=False)
    assert rc != 0 and stderr.strip() == e.value.diagnostics.strip()
    assert not (tmp_path / "out").exists()
    with pytest.raises(tfmc.CompileError, match="no such file"):
        tfmc.compile(tmp_path / "nope.toml")
    with pytest.raises(TypeError, match="unknown option 'sequence'"):
        tfmc.compile(bad, sequence=3)
    with pytest.raises(ValueError, match="seq_len"):
        tfmc.compile(bad, seq_len=0)
    with pytest.raises(ValueError, match="target"):
        tfmc.compile(bad, target="tpu")


def test_compile_options_reach_the_compiler(artifacts):
    art = artifacts("encoder-b3", "examples/models/encoder.toml", batch=3,
                    seq_len=11, weight_dtype="bf16")
    manifest = json.load(open(os.path.join(art.path, "manifest.json")))
    model = art.load()
    assert model.inputs[0].shape == (3, 11)
    assert "bfloat16" in json.dumps(manifest)


def test_quantize_options(artifacts):
    art = artifacts("decoder-q4", "examples/models/decoder.toml",
                    quantize="int4:16", quantize_skip="lm_head")
    tensors = json.load(open(os.path.join(art.path, "manifest.json")))["weights"]["tensors"]
    quantized = [t for t in tensors if "quant_bits" in t]
    assert quantized and all((t["quant_bits"], t["quant_group"]) == (4, 16) for t in quantized)
    # The tied LM head is skipped: the token table has no quantized entry.
    assert not any(t["name"] == "embed_tokens.weight" for t in quantized)
    with pytest.raises(tfmc.CompileError, match="expected int8 or int4"):
        tfmc.compile(os.path.join(ROOT, "examples/models/decoder.toml"), quantize="int2")


def test_emit_stages():
    src = os.path.join(ROOT, "examples/models/encoder.toml")
    fused = tfmc.emit(src, "fused")
    assert "tfm.attention" in fused and "func.func" in fused
    assert "tfm.softmax" in tfmc.emit(src, "tfm")
    assert "digraph" in tfmc.emit(src, "graph")
    with pytest.raises(ValueError, match="stage"):
        tfmc.emit(src, "bytecode")


def test_temporary_artifacts_are_removed():
    art = tfmc.compile(os.path.join(ROOT, "examples/models/encoder.toml"))
    path = art.path
    model = art.load()
    del art
    assert os.path.isdir(path)  # the model keeps it
    model.run(encoder_feed())
    del model
    import gc
    gc.collect()
    assert not os.path.exists(path)


def test_sessions_run_concurrently(encoder):
    feeds = [encoder_feed(10 + i) for i in range(2)]
    want = [encoder.run(f)["last_hidden_state"] for f in feeds]
    got = [[], []]

    def work(i):
        s = encoder.session()
        for _ in range(20):
            got[i].append(s.run(feeds[i])["last_hidden_state"])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        assert len(got[i]) == 20
        for g in got[i]:
            assert np.array_equal(g, want[i])


def test_vulkan_artifact(artifacts):
    """The same model through Vulkan (lavapipe without a GPU) agrees with
    the CPU artifact."""
    cpu = artifacts("encoder", "examples/models/encoder.toml").load()
    vk = artifacts("encoder-vk", "examples/models/encoder.toml",
                   target="vulkan").load(device="vulkan")
    assert vk.device != "cpu"
    feed = encoder_feed(7)
    a = cpu.run(feed)["last_hidden_state"]
    b = vk.run(feed)["last_hidden_state"]
    np.testing.assert_allclose(b, a, atol=1e-4, rtol=1e-4)


def test_vision_model(tmp_path):
    """A ViT classifier folder: pixel_values in, logits equal to
    transformers', labels and preprocessing from the folder."""
    torch = pytest.importorskip("torch")
    from transformers import (ViTConfig, ViTForImageClassification,
                              ViTImageProcessor)
    torch.manual_seed(3)
    cfg = ViTConfig(hidden_size=24, num_hidden_layers=1, num_attention_heads=3,
                    intermediate_size=40, image_size=20, patch_size=5,
                    num_labels=4, id2label={i: "c%d" % i for i in range(4)},
                    label2id={"c%d" % i: i for i in range(4)})
    hf = ViTForImageClassification(cfg).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.normal_(0.0, 0.2)
    hf.save_pretrained(tmp_path / "vit", safe_serialization=True)
    ViTImageProcessor(size={"height": 20, "width": 20}).save_pretrained(
        tmp_path / "vit")
    model = tfmc.compile(tmp_path / "vit", batch=2).load()
    assert model.inputs[0].name == "pixel_values"
    assert model.inputs[0].shape == (2, 3, 20, 20)
    assert model.labels == ["c0", "c1", "c2", "c3"]
    pre = model.image_preprocessing
    assert (pre["height"], pre["width"], pre["mean"]) == (20, 20, [0.5] * 3)
    x = np.random.default_rng(0).standard_normal((2, 3, 20, 20)).astype(
        np.float32)
    out = model.run({"pixel_values": x})
    with torch.no_grad():
        want = hf(torch.from_numpy(x)).logits.numpy()
    np.testing.assert_allclose(out["logits"], want, atol=1e-5, rtol=1e-4)
    assert model.labels and tfmc.compile(
        os.path.join(ROOT, "examples/models/encoder.toml")).load().labels == []
