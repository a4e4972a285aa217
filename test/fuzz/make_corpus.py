#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer harnesses into test/fuzz/corpus/
(one directory per target, small valid files of every kind the reader
takes, plus the repository's own example files). Run with the project's
.venv python; the committed corpus is its output, so CI needs none of this.

    .venv/bin/python test/fuzz/make_corpus.py [ARTIFACT_DIR]

ARTIFACT_DIR (a compiled artifact) gives the manifest seeds; without it the
manifest corpus is left as it is."""
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
import tfmc_ref  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TEXTS = ["Hello, world! The quick brown fox.", "naïve café — 東京 😀",
         "  spaces\tand\nnewlines  ", "UPPER lower 12345 !?", ""]


def target(name):
    d = os.path.join(CORPUS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def put(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors():
    d = target("safetensors")
    rng = np.random.default_rng(0)
    for dt in ("F32", "F16", "BF16"):
        path = os.path.join(d, "small-%s.safetensors" % dt.lower())
        tfmc_ref.save_safetensors(path, {"w": rng.normal(size=(3, 5)),
                                         "b": rng.normal(size=(5,)),
                                         "s": rng.normal(size=())}, dt)
    # Integer tensors, metadata, an empty tensor.
    header = {"__metadata__": {"format": "pt"},
              "ids": {"dtype": "I64", "shape": [2, 2], "data_offsets": [0, 32]},
              "mask": {"dtype": "BOOL", "shape": [4], "data_offsets": [32, 36]},
              "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [36, 36]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    put(d, "ints.safetensors", struct.pack("<Q", len(text)) + text +
        np.arange(4, dtype="<i8").tobytes() + bytes([1, 0, 1, 1]))
    put(d, "empty.safetensors", struct.pack("<Q", 2) + b"{}")


def toml():
    d = target("toml")
    for src in (os.path.join(ROOT, "examples", "models"),
                os.path.join(ROOT, "test", "Frontends", "Inputs")):
        for f in sorted(os.listdir(src)):
            if f.endswith(".toml"):
                shutil.copy(os.path.join(src, f), os.path.join(d, f))
    for sub in ("reverse", "char-gpt"):
        with open(os.path.join(ROOT, "examples", "models", sub, "model.toml")) as f:
            put(d, sub + ".toml", f.read())


def hf_config():
    import transformers as t
    d = target("hf-config")
    small = dict(vocab_size=97, hidden_size=24, num_hidden_layers=2,
                 num_attention_heads=4, intermediate_size=40)
    configs = {
        "gpt2": t.GPT2Config(vocab_size=97, n_embd=24, n_layer=2, n_head=4),
        "bert": t.BertConfig(**small),
        "llama": t.LlamaConfig(num_key_value_heads=2,
                               rope_scaling={"type": "linear", "factor": 2.0},
                               **small),
        "mistral": t.MistralConfig(sliding_window=7, num_key_value_heads=1, **small),
        "qwen2": t.Qwen2Config(num_key_value_heads=2, **small),
        "gemma": t.GemmaConfig(head_dim=8, num_key_value_heads=1, **small),
        "phi": t.PhiConfig(partial_rotary_factor=0.5, **small),
        "t5": t.T5Config(vocab_size=97, d_model=24, d_kv=6, d_ff=40,
                         num_layers=2, num_heads=4),
        "vit": t.ViTConfig(hidden_size=24, num_hidden_layers=2,
                           num_attention_heads=4, intermediate_size=40,
                           image_size=16, patch_size=8),
        "mixtral": t.MixtralConfig(num_local_experts=4, num_experts_per_tok=2,
                                   num_key_value_heads=2, **small),
    }
    for name, cfg in configs.items():
        put(d, name + ".json", cfg.to_json_string())
    shutil.copy(os.path.join(ROOT, "examples", "models", "fortune-llama", "config.json"),
                os.path.join(d, "fortune-llama.json"))


def tokenizers():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    texts = TEXTS + tfmc_ref.read_fortunes()[:200]
    text = "\0".encode() + TEXTS[1].encode()

    d = target("tokenizer-char")
    for sub in ("reverse", "char-gpt"):
        with open(os.path.join(ROOT, "examples", "models", sub, "chars.json"), "rb") as f:
            put(d, sub, f.read() + text)

    d = target("tokenizer-byte-bpe")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    doc = json.loads(tok.to_str())
    vocab = json.dumps(doc["model"]["vocab"], ensure_ascii=False).encode()
    merges = ("#version: 0.2\n" + "\n".join(
        m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]) +
        "\n").encode()
    put(d, "gpt2-style", vocab + b"\0" + merges + text)

    d = target("tokenizer-wordpiece")
    wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.train_from_iterator(texts, trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False))
    wvocab = sorted(json.loads(wp.to_str())["model"]["vocab"].items(), key=lambda x: x[1])
    put(d, "bert-style", "\n".join(t for t, _ in wvocab).encode() + b"\n" + text)


# A handful of NFKC-style rules (one-to-one, one-to-many, many-to-one), so
# that the Unigram seed's precompiled charsmap is a real trie of a few
# hundred bytes: nmt_nfkc's is 300 KB, and libFuzzer mutates and parses
# every seed in full on every run (112 runs/s with it, see docs/limits.md).
CHARSMAP_RULES = ["FF21\t41", "FF41\t61", "FB01\t66 69", "2460\t31",
                  "3000\t20", "A0\t20", "41 300\tC0", "2126\t3A9"]


def tokenizer_json():
    texts = TEXTS + tfmc_ref.read_fortunes()[:200]
    text = "\0".encode() + TEXTS[1].encode()
    d = target("tokenizer-tokenizer-json")
    for style in ("byte_level", "sentencepiece"):
        put(d, style, json.dumps(tfmc_ref.train_bpe_tokenizer(style, 400, texts),
                                 ensure_ascii=False).encode() + text)
    rules = os.path.join("/tmp", "tfmc-fuzz-charsmap.tsv")
    with open(rules, "w") as f:
        f.write("\n".join(CHARSMAP_RULES) + "\n")
    unigram = tfmc_ref.train_t5_tokenizer("/tmp", 250, texts * 5, rules)
    put(d, "unigram-t5", json.dumps(unigram, ensure_ascii=False).encode() + text)


def npy():
    import io
    d = target("npy")
    arrays = {"f32-2d": np.arange(6, dtype="<f4").reshape(2, 3),
              "i64-ids": np.array([[1, 5, 9]], dtype="<i8"),
              "i32-1d": np.array([3, -1], dtype="<i4"),
              "f32-scalar": np.array(2.5, dtype="<f4"),
              "f32-empty": np.zeros((0, 4), dtype="<f4")}
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.save(buf, a)
        put(d, name, buf.getvalue())
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones((2, 2), "<f4"), version=(2, 0))
    put(d, "f32-v2", buf.getvalue())


def manifest(artifact):
    d = target("manifest")
    with open(os.path.join(artifact, "manifest.json"), "rb") as f:
        put(d, "encoder", f.read())


if __name__ == "__main__":
    safetensors()
    toml()
    hf_config()
    tokenizers()
    tokenizer_json()
    npy()
    if len(sys.argv) > 1:
        manifest(sys.argv[1])
