"""Compares the runtime's tokenizer.json Unigram model with Hugging Face
`tokenizers` on thousands of varied lines: encode with and without the
post-processor's framing, decode with and without special tokens, and
decode of random id sequences.

Two vocabularies are trained here on the fortunes text:
- "t5": a SentencePiece Unigram model (the `sentencepiece` trainer, T5's
  pad/eos/unk layout, nmt_nfkc normalization rules) converted to
  tokenizer.json by transformers' own T5 converter, exactly as a T5 folder
  ships it: the Precompiled normalizer, Metaspace, </s> framing, the 100
  <extra_id_N> sentinels.
- "unigram-*": `tokenizers`' UnigramTrainer, saved in variants for the
  corners the T5 layout does not reach: byte fallback to <0xXX> (with the
  ByteFallback decoder), NFKC + Metaspace prepending to the first split
  only, and no unk_id (a character no piece covers is then an error on
  both sides).
Then the error paths: each malformed node is one error naming
tokenizer.json and the JSON path.

usage: check_hf_unigram.py WORKDIR"""
import base64
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_rt as rt  # noqa: E402
from tfmc_ref import read_fortunes, train_t5_tokenizer, varied_lines  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
cookies = read_fortunes()
lines = varied_lines(cookies, 4000)
rng = random.Random(13)
for i in range(0, len(lines), 9):
    w = lines[i].split(" ")
    w.insert(rng.randrange(len(w) + 1), rng.choice(["</s>", "<pad>", "<extra_id_0>",
                                                    "<extra_id_17>", "<unk>"]))
    lines[i] = " ".join(w) if i % 2 else "".join(w)
lines += ["", "   ", "</s>", "ＦＵＬＬＷＩＤＴＨ ｶﾀｶﾅ ①②③ ㍿ ﬁ", "e\u0301\u0301\u0301 i\u0306 \u1100\u1161\u11a8"]


# --- training -----------------------------------------------------------------
def train_unigram():
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(cookies, trainers.UnigramTrainer(
        vocab_size=1200, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
        show_progress=False))
    return json.loads(tok.to_str())


def added(content, i, special=True, normalized=False, **kw):
    t = {"id": i, "content": content, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": normalized, "special": special}
    t.update(kw)
    return t


def variant(base, **over):
    doc = json.loads(json.dumps(base))
    doc["model"].update(over.pop("model", {}))
    doc.update(over)
    return doc


t5 = train_t5_tokenizer(work, 1600, cookies)
uni = train_unigram()
n_uni = len(uni["model"]["vocab"])
bytes_vocab = uni["model"]["vocab"][:3] + [["<0x%02X>" % b, 0.0] for b in range(256)] \
    + uni["model"]["vocab"][3:]
METASPACE_FIRST = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
                   "prepend_scheme": "first"}
VARIANTS = {
    "t5": t5,
    "unigram-bytes": variant(uni, model={"vocab": bytes_vocab, "byte_fallback": True},
                             added_tokens=[added("<pad>", 0), added("</s>", 1), added("<unk>", 2)],
                             decoder={"type": "Sequence", "decoders": [
                                 {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                 {"type": "ByteFallback"}, {"type": "Fuse"},
                                 {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}),
    "unigram-nfkc-first": variant(uni, normalizer={"type": "NFKC"},
                                  added_tokens=[added("<pad>", 0), added("</s>", 1),
                                                added("<unk>", 2), added("<sep>", n_uni,
                                                                         special=False)],
                                  pre_tokenizer=METASPACE_FIRST, decoder=METASPACE_FIRST),
    "unigram-no-unk": variant(uni, model={"unk_id": None}, added_tokens=[
        added("<pad>", 0), added("</s>", 1), added("<unk>", 2)],
        decoder={"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}),
}
assert any(n.get("type") == "Precompiled" for n in t5["normalizer"]["normalizers"]), t5["normalizer"]

failures = 0
for name, doc in VARIANTS.items():
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        f.write(text)
    hf = Tokenizer.from_str(text)
    ours = rt.Tokenizer("tokenizer_json", d)
    assert ours.vocab_size() == hf.get_vocab_size(), (name, ours.vocab_size(), hf.get_vocab_size())
    mismatch = tokens = errors = unks = 0
    t_ours = t_hf = 0.0
    unk = hf.token_to_id("<unk>")
    for line in lines:
        for special in (False, True):
            t0 = time.perf_counter()
            try:
                want = hf.encode(line, add_special_tokens=special).ids
            except Exception as e:  # no unk_id: both must refuse
                want = None
                hf_error = str(e)
            t1 = time.perf_counter()
            try:
                got = ours.encode(line, add_special=special)
            except rt.Error as e:
                got = None
                our_error = str(e)
            t_hf += t1 - t0
            t_ours += time.perf_counter() - t1
            if want is None or got is None:
                errors += want is None
                if (want is None) != (got is None):
                    mismatch += 1
                    if mismatch <= 3:
                        print(f"{name}: error mismatch on {line!r}: hf "
                              f"{hf_error if want is None else want} ours "
                              f"{our_error if got is None else got}")
                continue
            tokens += len(want)
            unks += want.count(unk)
            if got != want:
                mismatch += 1
                if mismatch <= 3:
                    print(f"{name}: encode mismatch (special={special}) on {line!r}:\n"
                          f"  hf   {want}\n  ours {got}")
                continue
            for skip in (False, True):
                a, b = hf.decode(want, skip_special_tokens=skip), ours.decode(want, skip_special=skip)
                if a != b:
                    mismatch += 1
                    if mismatch <= 3:
                        print(f"{name}: decode mismatch (skip={skip}) on {line!r}:\n"
                              f"  hf   {a!r}\n  ours {b!r}")
    r = random.Random(5)
    for _ in range(1000):
        ids = [r.randrange(hf.get_vocab_size()) for _ in range(r.randrange(1, 12))]
        for skip in (False, True):
            a, b = hf.decode(ids, skip_special_tokens=skip), ours.decode(ids, skip_special=skip)
            if a != b:
                mismatch += 1
                if mismatch <= 3:
                    print(f"{name}: decode mismatch on ids {ids}:\n  hf   {a!r}\n  ours {b!r}")
    failures += mismatch
    print(f"{name}: {len(lines)} lines x 2, {tokens} tokens ({unks} unk), {errors} refused, "
          f"1000 random id sequences, {mismatch} mismatches " + ("OK" if mismatch == 0 else "FAIL"))
    print(f"{name}: encode {1e6 * t_ours / (2 * len(lines)):.0f} us/line here, "
          f"HF {1e6 * t_hf / (2 * len(lines)):.0f} us/line", file=sys.stderr)

t5tok = rt.Tokenizer("tokenizer_json", os.path.join(work, "t5"))
print(f"t5: eos {t5tok.special('eos')} pad {t5tok.special('pad')} unk {t5tok.special('unk')}")
no_unk = rt.Tokenizer("tokenizer_json", os.path.join(work, "unigram-no-unk"))
try:
    no_unk.encode("snowman ☃ here")
    sys.exit("FAIL no unk: no error")
except rt.Error as e:
    print(f"no unk: error: {e}")


# --- errors -------------------------------------------------------------------
def expect_error(what, doc, *needles):
    d = os.path.join(work, "bad-" + what.replace(" ", "-"))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        f.write(json.dumps(doc))
    rt.expect_error(what, lambda: rt.Tokenizer("tokenizer_json", d), *needles)


def charsmap(blob):
    return variant(t5, normalizer={"type": "Precompiled",
                                   "precompiled_charsmap": base64.b64encode(blob).decode()})


v = [list(p) for p in t5["model"]["vocab"]]
expect_error("unknown model", variant(t5, model={"type": "WordLevel"}), "model.type", "WordLevel")
expect_error("piece not a pair", variant(t5, model={"vocab": v[:5] + [["x"]] + v[6:]}),
             "model.vocab[5]", "[\"piece\", score]")
expect_error("score not finite", variant(t5, model={"vocab": v[:7] + [["x", "high"]] + v[8:]}),
             "model.vocab[7]")
expect_error("duplicate piece", variant(t5, model={"vocab": v[:9] + [v[4]] + v[10:]}),
             "model.vocab[9]", "also vocab[4]")
expect_error("unk out of range", variant(t5, model={"unk_id": len(v)}), "model.unk_id")
expect_error("empty vocab", variant(t5, model={"vocab": []}), "model.vocab", "non-empty")
expect_error("charsmap not base64", variant(t5, normalizer={
    "type": "Precompiled", "precompiled_charsmap": "@@@"}),
    "normalizer.precompiled_charsmap", "base64")
expect_error("charsmap missing", variant(t5, normalizer={"type": "Precompiled"}),
             "normalizer.precompiled_charsmap")
expect_error("charsmap truncated", charsmap(b"\x00\x01\x00\x00abcd"),
             "normalizer.precompiled_charsmap", "does not fit")
expect_error("charsmap short", charsmap(b"\x01"), "normalizer.precompiled_charsmap", "header")
expect_error("charsmap not utf-8", charsmap(b"\x04\x00\x00\x00\x00\x00\x00\x00\xff\xfe"),
             "normalizer.precompiled_charsmap", "not UTF-8")
# A trie whose offsets point anywhere: loads, and only never matches.
junk = bytes([0, 1, 0, 0]) + bytes(random.Random(3).randrange(256) for _ in range(256)) + b"x\0"
d = os.path.join(work, "junk-trie")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "tokenizer.json"), "w") as f:
    f.write(json.dumps(charsmap(junk)))
junk_tok = rt.Tokenizer("tokenizer_json", d)
junk_ids = junk_tok.encode("every byte value walks the damaged trie " + "".join(map(chr, range(1, 400))))
print(f"junk trie: {len(junk_ids)} ids, no crash")
print("FAIL" if failures else "OK")
