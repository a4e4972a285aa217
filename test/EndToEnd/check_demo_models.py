"""The bundled demo models (examples/models/char-gpt, examples/models/reverse,
and the Hugging Face folder examples/models/fortune-llama) compiled and run
through `tfmc-run --prompt`: greedy generation reproduces PyTorch's (for the
Llama, transformers' generate()) greedy tokens exactly, with float32 and
with the checkpoint's float16 weights kept (--weight-dtype=auto); seeded sampling is reproducible; the
attention-map entries return PyTorch's attention probabilities and
--dump-attention writes one PNG per layer and head; bad text input fails
cleanly.

usage: check_demo_models.py WORKDIR"""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tfmc_rt as rt  # noqa: E402
from tfmc_ref import load_model_file  # noqa: E402
from tfmc_run import check_stderr, compile_model, tool  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
work = sys.argv[1]
os.makedirs(work, exist_ok=True)
failures = 0


def check(what, ok, detail=""):
    global failures
    print(f"{what}: {detail} {'OK' if ok else 'FAIL'}".replace("  ", " "))
    failures += not ok


def tfmc_run(artifact, *args, expect_fail=False):
    r = subprocess.run([tool("tfmc-run"), artifact, *args], capture_output=True,
                       text=True)
    if expect_fail != (r.returncode != 0):
        sys.exit(f"FAIL tfmc-run {' '.join(args)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    check_stderr("tfmc-run " + artifact, r.stderr)
    return r


def generated_ids(r):
    line = [l for l in r.stdout.splitlines() if l.startswith("ids:")][-1]
    return [int(t) for t in line[4:].split()]


def capture_probs(model):
    """Makes every Attention module record its probabilities."""
    probs = []
    for m in model.modules():
        if type(m).__name__ == "Attention":
            def fwd(xq, xkv, mask=None, return_probs=False, _m=m, _f=m.forward):
                out, p = _f(xq, xkv, mask, return_probs=True)
                probs.append((_m, p))
                return (out, p) if return_probs else out
            m.forward = fwd
    return probs


# --- character-level GPT ------------------------------------------------------
toml = os.path.join(ROOT, "examples", "models", "char-gpt", "model.toml")
gpt, doc = load_model_file(toml)
chars = __import__("json").load(open(os.path.join(os.path.dirname(toml), "chars.json")))
art = compile_model(toml, os.path.join(work, "char-gpt"), "--attention-maps")
N = 60
for prompt in ["The ", "Q: What is", "A man, a plan", "\n"]:
    ids = [chars.index(c) for c in prompt]
    with torch.no_grad():
        seq = list(ids)
        for _ in range(N):
            seq.append(int(gpt(torch.tensor([seq]))[0, -1].argmax()))
    want = seq[len(ids):]
    r = tfmc_run(art, "--prompt", prompt, "--max-new-tokens", str(N), "--show-ids")
    got = generated_ids(r)
    text = "".join(chars[i] for i in want)
    check(f"char-gpt greedy {prompt!r}", got == want and r.stdout.startswith(prompt + text),
          f"{len(got)} tokens equal PyTorch's: {text[:30]!r}...")
    if got != want:
        print("  pytorch", want, "\n  tfmc   ", got)

a = tfmc_run(art, "--prompt", "The ", "--max-new-tokens", "40", "--temperature", "0.8",
             "--top-k", "20", "--top-p", "0.95", "--seed", "7").stdout
b = tfmc_run(art, "--prompt", "The ", "--max-new-tokens", "40", "--temperature", "0.8",
             "--top-k", "20", "--top-p", "0.95", "--seed", "7").stdout
c = tfmc_run(art, "--prompt", "The ", "--max-new-tokens", "40", "--temperature", "0.8",
             "--top-k", "20", "--top-p", "0.95", "--seed", "8").stdout
check("char-gpt sampling seed 7 twice", a == b and a != c, "same text; seed 8 differs")

# The debug entry's probabilities against PyTorch's.
ids = [chars.index(c) for c in "To be or not to be"]
m = rt.Model(art)
s = m.session("forward_attention")
s.run(input_ids=np.array([ids], dtype=np.int64))
probs = capture_probs(gpt)
with torch.no_grad():
    gpt(torch.tensor([ids]))
err = max(np.abs(s.output(f"attention.{l}") - p.numpy()).max()
          for l, (_, p) in enumerate(probs))
check("char-gpt forward_attention", err < 1e-5, f"{len(probs)} layers, max err {err:.2e}")
maps = os.path.join(work, "maps-gpt")
r = tfmc_run(art, "--prompt", "To be or not", "--max-new-tokens", "8",
             "--dump-attention", maps)
pngs = sorted(os.listdir(maps))
layers, heads = doc["decoder"]["layers"], doc["model"]["num_heads"]
ok = len(pngs) == layers * heads and all(
    open(os.path.join(maps, p), "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in pngs)
check("char-gpt --dump-attention", ok, f"{len(pngs)} PNGs ({layers} layers x {heads} heads)")
print("  " + r.stderr.strip().splitlines()[-1])

# Bad text input.
for args, what in [(["--prompt", ""], "empty prompt"),
                   (["--prompt", "x" * 100, "--max-new-tokens", "40"], "prompt too long"),
                   (["--prompt", "caf\u00e9 \u00e0 la carte"], "unknown character"),
                   (["--text", "hello"], "text on a decoder"),
                   (["--prompt", "hi", "--top-p", "1.5"], "bad top-p")]:
    r = tfmc_run(art, *args, expect_fail=True)
    print(f"char-gpt {what}: {r.stderr.strip()}")
plain = compile_model(toml, os.path.join(work, "char-gpt-plain"))
r = tfmc_run(plain, "--prompt", "hi", "--dump-attention", os.path.join(work, "x"),
             expect_fail=True)
print(f"char-gpt maps without the debug entry: {r.stderr.strip()}")

# --- encoder-decoder: reverse a string ------------------------------------------
toml = os.path.join(ROOT, "examples", "models", "reverse", "model.toml")
rev, doc = load_model_file(toml)
vocab = __import__("json").load(open(os.path.join(os.path.dirname(toml), "chars.json")))
BOS, EOS = doc["model"]["bos_id"], doc["model"]["eos_id"]
art = compile_model(toml, os.path.join(work, "reverse"), "--attention-maps")
correct = 0
words = ["abc", "transformer", "attention", "zyxwvuts", "compiler", "mlir", "qq"]
for word in words:
    src = torch.tensor([[vocab.index(c) for c in word]])
    with torch.no_grad():
        memory = rev.encode(src)
        out = [BOS]
        while len(out) < 20 and out[-1] != EOS:
            out.append(int(rev.decode(torch.tensor([out]), memory)[0, -1].argmax()))
    want = out[1:]
    r = tfmc_run(art, "--prompt", word, "--max-new-tokens", "19", "--show-ids")
    got = generated_ids(r)
    text = r.stdout.splitlines()[0]
    correct += text == word[::-1]
    check(f"reverse greedy {word!r}", got == want, f"-> {text!r}, tokens equal PyTorch's")
print(f"reverse: {correct}/{len(words)} reversed correctly")
maps = os.path.join(work, "maps-rev")
r = tfmc_run(art, "--prompt", "attention", "--max-new-tokens", "12", "--dump-attention", maps)
n = len(os.listdir(maps))
want_n = 2 * doc["decoder"]["layers"] * doc["model"]["num_heads"]
check("reverse --dump-attention", n == want_n, f"{n} PNGs (self + cross)")
# README's command: without --max-new-tokens the default (64) is shortened
# to what fits in the model's 32 positions, and says so.
r = tfmc_run(art, "--prompt", "compiler", "--dump-attention", os.path.join(work, "maps-readme"))
note = [l for l in r.stderr.splitlines() if l.startswith("note:")]
check("reverse default --max-new-tokens", r.stdout.splitlines()[0] == "relipmoc" and note,
      f"-> {r.stdout.splitlines()[0]!r}; {note[0] if note else 'no note'}")
r = tfmc_run(art, "--prompt", "compiler", "--max-new-tokens", "64", expect_fail=True)
print(f"reverse explicit --max-new-tokens 64: {r.stderr.strip()}")
r = tfmc_run(art, "--prompt", "Hello", expect_fail=True)
print(f"reverse unknown character: {r.stderr.strip()}")

# --- Llama-architecture model with a tokenizer.json ---------------------------------
from tokenizers import Tokenizer  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402

folder = os.path.join(ROOT, "examples", "models", "fortune-llama")
llama = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32,
                                         attn_implementation="eager").eval()
hf_tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
art = compile_model(folder, os.path.join(work, "fortune-llama"), "--attention-maps")
art16 = compile_model(folder, os.path.join(work, "fortune-llama-f16"), "--weight-dtype=auto")
N = 48
for prompt in ["Q: Why did the chicken", "The meaning of life is", "Tomorrow, you will"]:
    pids = hf_tok.encode(prompt).ids
    with torch.no_grad():
        want = llama.generate(torch.tensor([pids]), do_sample=False, max_new_tokens=N,
                              pad_token_id=0)[0, len(pids):].tolist()
    for a, kind in [(art, "f32"), (art16, "f16 weights")]:
        r = tfmc_run(a, "--prompt", prompt, "--max-new-tokens", str(N), "--show-ids")
        got = generated_ids(r)
        text = r.stdout.split("\nids:")[0]
        stream = prompt + hf_tok.decode(pids + want, skip_special_tokens=True)[
            len(hf_tok.decode(pids, skip_special_tokens=True)):]
        check(f"fortune-llama greedy {prompt!r} ({kind})", got == want and text == stream,
              f"{len(got)} tokens equal transformers': {text[len(prompt):][:30]!r}...")
        if got != want:
            print("  transformers", want, "\n  tfmc        ", got)
ids = hf_tok.encode("To be or not to be, that is the question").ids
s = rt.Model(art).session("forward_attention")
s.run(input_ids=np.array([ids], dtype=np.int64),
      attention_mask=np.ones((1, len(ids)), dtype=np.int64))
with torch.no_grad():
    ref = llama(torch.tensor([ids]), output_attentions=True)
err = max(np.abs(s.output(f"attention.{l}") - ref.attentions[l].numpy()).max()
          for l in range(llama.config.num_hidden_layers))
got, want = s.output("logits"), ref.logits.numpy()
lerr = np.abs(got - want).max()
lok = bool(np.all(np.abs(got - want) <= 1e-5 + 1e-4 * np.abs(want)))
check("fortune-llama forward_attention", err < 1e-5 and lok,
      f"{llama.config.num_hidden_layers} layers, probabilities max err {err:.2e}, "
      f"logits {lerr:.2e}")
a = tfmc_run(art, "--prompt", "Q:", "--temperature", "0.8", "--top-k", "40", "--seed", "3",
             "--max-new-tokens", "40").stdout
b = tfmc_run(art, "--prompt", "Q:", "--temperature", "0.8", "--top-k", "40", "--seed", "3",
             "--max-new-tokens", "40").stdout
check("fortune-llama sampling seed 3 twice", a == b, "same text")
r = tfmc_run(art, "--prompt", "x" * 300, "--max-new-tokens", "10", expect_fail=True)
print(f"fortune-llama prompt too long: {r.stderr.strip()}")

print("OK" if failures == 0 else f"{failures} FAILED")
