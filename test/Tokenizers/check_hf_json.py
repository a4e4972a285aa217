"""Compares the runtime's tokenizer.json reader with Hugging Face
`tokenizers` on thousands of varied lines: encode with and without the
post-processor's framing, decode with and without special tokens, and
decode of random id sequences (byte tokens that split characters, <unk>).

Two BPE models are trained here on the fortunes text -- SentencePiece
style ("▁" for spaces, <0xXX> byte fallback, as Llama 2 / Mistral / Gemma
ship) and byte-level style (GPT-2 alphabet, as Qwen2 / Llama 3 ship) --
and each is saved in several pipeline variants that exercise the
normalizers, pre-tokenizers, added-token options and decoders tfmc reads.
Then the error paths: every unsupported or malformed node is one error
naming tokenizer.json and the JSON path.

usage: check_hf_json.py WORKDIR"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_rt as rt  # noqa: E402
from tfmc_ref import read_fortunes, train_bpe_tokenizer, varied_lines  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
cookies = read_fortunes()
lines = varied_lines(cookies, 4000)
# Added tokens in running text, at the start, glued to words.
rng = random.Random(11)
for i in range(0, len(lines), 7):
    w = lines[i].split(" ")
    w.insert(rng.randrange(len(w) + 1), rng.choice(["<s>", "</s>", "<extra>", "<extra> ",
                                                    "<|im_start|>", "<|endoftext|>"]))
    lines[i] = " ".join(w) if i % 2 else "".join(w)
lines.append("<s>starts with a special token")
lines.append("")

# --- training ---------------------------------------------------------------
def added(content, i, special=True, normalized=False, **kw):
    t = {"id": i, "content": content, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": normalized, "special": special}
    t.update(kw)
    return t


def template(bos, bos_id):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


def replace(pat, content):
    return {"type": "Replace", "pattern": {"String": pat}, "content": content}


sp = train_bpe_tokenizer("sentencepiece", 1800, cookies)
bl = train_bpe_tokenizer("byte_level", 1800, cookies)
n_sp, n_bl = len(sp["model"]["vocab"]), len(bl["model"]["vocab"])
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+"
          r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SP_ADDED = [added("<unk>", 0), added("<s>", 1), added("</s>", 2),
            added("<extra>", n_sp, special=False)]


def variant(base, **over):
    doc = json.loads(json.dumps(base))
    model = over.pop("model", {})
    doc["model"].update(model)
    doc.update(over)
    return doc


VARIANTS = {
    # Llama 2 / Mistral: Prepend + Replace, no pre-tokenizer, <s> framing
    # (the trained layout), with a non-special added token.
    "sp-llama2": variant(sp, added_tokens=SP_ADDED),
    # Gemma: spaces replaced, nothing prepended, no Strip; a stripping
    # added token.
    "sp-gemma": variant(sp, added_tokens=SP_ADDED[:3] + [
        added("<extra>", n_sp, special=False, lstrip=True, rstrip=True)],
        normalizer=replace(" ", "▁"), pre_tokenizer=None,
        post_processor=template("<s>", 1), decoder={"type": "Sequence", "decoders": [
            replace("▁", " "), {"type": "ByteFallback"}, {"type": "Fuse"}]}),
    # Metaspace pre-tokenizer (prepend to the first split only), no byte
    # fallback: characters outside the vocabulary fuse into one <unk>.
    "sp-metaspace-unk": variant(sp, added_tokens=SP_ADDED, normalizer=None,
        model={"byte_fallback": False},
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
                       "prepend_scheme": "first"},
        post_processor=None,
        decoder={"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
                 "prepend_scheme": "first"}),
    # Llama 3: split by its pattern, then byte-level without the regex;
    # whole words in the vocabulary skip the merges.
    "bl-llama3": variant(bl, model={"ignore_merges": True}, added_tokens=[
        added("<|endoftext|>", 0), added("<|im_start|>", 1),
        added("<s>", n_bl), added("</s>", n_bl + 1)],
        normalizer=None, pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        post_processor={"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
             "use_regex": True}, template("<s>", n_bl)]},
        decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                 "use_regex": True}),
    # Qwen2: NFC, its pattern, no framing (the trained layout as it is).
    "bl-qwen2": variant(bl),
    # GPT-2's own regex with a prefix space, after NFKC + lower-casing +
    # stripping; digits one by one; whitespace splitting; a normalized
    # single-word added token; Roberta framing.
    "bl-mixed": variant(bl, added_tokens=[
        added("<|endoftext|>", 0), added("<|im_start|>", 1),
        added("<extra>", n_bl, special=False, normalized=True, single_word=True)],
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"},
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": r"\d\d\d+"}, "content": "#"}]},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": True},
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithNext",
             "invert": False},
            {"type": "Split", "pattern": {"Regex": r"[.,;:!?]"}, "behavior": "MergedWithPrevious",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
             "use_regex": True}]},
        post_processor={"type": "RobertaProcessing", "sep": ["<|endoftext|>", 0],
                        "cls": ["<|im_start|>", 1], "trim_offsets": True,
                        "add_prefix_space": True},
        decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                 "use_regex": True}),
}

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
    mismatch = tokens = 0
    t_ours = t_hf = 0.0
    for line in lines:
        for special in (False, True):
            t0 = time.perf_counter()
            want = hf.encode(line, add_special_tokens=special).ids
            t1 = time.perf_counter()
            got = ours.encode(line, add_special=special)
            t_hf += t1 - t0
            t_ours += time.perf_counter() - t1
            tokens += len(want)
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
    # Random id sequences: byte tokens out of order, lone continuation
    # bytes, specials anywhere.
    r = random.Random(5)
    for _ in range(1000):
        ids = [r.randrange(hf.get_vocab_size()) if r.random() < 0.6 else r.randrange(3, 300)
               for _ in range(r.randrange(1, 12))]
        for skip in (False, True):
            a, b = hf.decode(ids, skip_special_tokens=skip), ours.decode(ids, skip_special=skip)
            if a != b:
                mismatch += 1
                if mismatch <= 3:
                    print(f"{name}: decode mismatch on ids {ids}:\n  hf   {a!r}\n  ours {b!r}")
    failures += mismatch
    print(f"{name}: {len(lines)} lines x 2, {tokens} tokens, 1000 random id sequences, "
          f"{mismatch} mismatches " + ("OK" if mismatch == 0 else "FAIL"))
    print(f"{name}: encode {1e6 * t_ours / (2 * len(lines)):.0f} us/line here, "
          f"HF {1e6 * t_hf / (2 * len(lines)):.0f} us/line", file=sys.stderr)

llama2 = rt.Tokenizer("tokenizer_json", os.path.join(work, "sp-llama2"))
print(f"sp-llama2: bos {llama2.special('bos')} eos {llama2.special('eos')} "
      f"unk {llama2.special('unk')}")
emoji = llama2.encode("😀")
print(f"sp-llama2: '😀' is {len(emoji)} byte tokens, decoded "
      + ("OK" if llama2.decode(emoji) == "😀" else "FAIL"))


# --- errors -------------------------------------------------------------------
def expect_error(what, doc_or_text, *needles):
    d = os.path.join(work, "bad-" + what.replace(" ", "-"))
    os.makedirs(d, exist_ok=True)
    if doc_or_text is not None:
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            f.write(doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text))
    rt.expect_error(what, lambda: rt.Tokenizer("tokenizer_json", d), *needles)


base = VARIANTS["sp-llama2"]
expect_error("missing file", None, "tokenizer.json", "cannot open")
expect_error("deep json", '{"model": {"type": "BPE", "vocab": {"a": ' + "[" * 300000 + "]" * 300000
             + '}, "merges": []}}', "tokenizer.json", "nested deeper than 128 levels (at byte")
expect_error("not json", json.dumps(base)[:5000], "tokenizer.json", "not valid JSON")
expect_error("wordlevel model", variant(base, model={"type": "WordLevel"}),
             "tokenizer.json", "model.type", "WordLevel")
expect_error("dropout", variant(base, model={"dropout": 0.1}), "model.dropout")
m = list(base["model"]["merges"])
m[10] = "qqq zzz"
expect_error("merge unknown token", variant(base, model={"merges": m}),
             "model.merges[10]", "'qqq'")
m[10] = "a b c"
expect_error("merge three tokens", variant(base, model={"merges": m}),
             "model.merges[10]", "two tokens")
v = dict(base["model"]["vocab"])
v["<0x41>"] = len(v) + 5
expect_error("vocab gap", variant(base, model={"vocab": v}), "model.vocab", "no token has id")
expect_error("unk not in vocab", variant(base, model={"unk_token": "<nope>"}), "model.unk_token")
expect_error("bert normalizer", variant(base, normalizer={"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "x"}, {"type": "BertNormalizer"}]}),
    "normalizer.normalizers[1].type", "BertNormalizer")
expect_error("bad regex", variant(base, pre_tokenizer={"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}]}),
    "pre_tokenizer.pretokenizers[0].pattern", "(unclosed")
expect_error("bad behavior", variant(base, pre_tokenizer={
    "type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}),
    "pre_tokenizer.behavior", "Sideways")
expect_error("unknown pre-tokenizer", variant(base, pre_tokenizer={"type": "BertPreTokenizer"}),
             "pre_tokenizer.type", "BertPreTokenizer")
expect_error("unknown decoder", variant(base, decoder={"type": "CTC"}), "decoder.type", "CTC")
expect_error("strip content", variant(base, decoder={"type": "Strip", "content": "ab",
                                                     "start": 1, "stop": 0}),
             "decoder.content", "single character")
expect_error("template pair only", variant(base, post_processor={
    "type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}],
    "special_tokens": {}}), "post_processor.single[0]", "'<x>'")
expect_error("unknown post-processor", variant(base, post_processor={"type": "Magic"}),
             "post_processor.type", "Magic")
expect_error("added id clash", variant(base, added_tokens=[added("<other>", 5)]),
             "added_tokens[0]", "id 5")
expect_error("added no content", variant(base, added_tokens=[{"id": 3}]), "added_tokens[0]")
print("FAIL" if failures else "OK")
