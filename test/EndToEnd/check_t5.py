"""Hugging Face T5 folders written by transformers itself (random weights,
odd sizes: d_model 48, 3 heads of d_kv 10 -- inner 30, not 48 --, d_ff 72,
vocab 1000, 2 encoder and 3 decoder layers, 32 buckets with max_distance 20
so that sequences of 37 reach the logarithmic and the clamped buckets),
compiled by tfmc and compared with T5ForConditionalGeneration at fp32 atol
1e-5, rtol 1e-4:

* encode: the encoder's last hidden state, batch 2 with the second source
  right-padded (valid positions compared) -- bidirectional relative
  position biases, no 1/sqrt(d) scaling, RMSNorm, relu or gated FFN;
* decode (teacher forcing): the logits of a 29-token target against the
  padded batch's encoder states -- causal relative biases, cross-attention
  with the encoder mask, the tied head's d_model^-0.5 rescale (t5) or the
  untied lm_head (t5-gated, "gated-gelu" as flan-T5);
* decode_step: encode once, then one target token at a time to 30, every
  step's logits equal to the full decoder's;
* greedy generation from decoder_start_token_id equal to generate();
* (t5) the folder's tokenizer.json -- a T5 SentencePiece Unigram vocabulary
  trained on the fortunes text, as transformers writes it -- read at compile
  time: `tfmc-run --prompt` encodes the source with its </s>, generates to
  </s> or 24 tokens, and both ids and text equal generate() and decode.

usage: check_t5.py WORKDIR t5|t5-gated
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_ref import read_fortunes, train_t5_tokenizer  # noqa: E402
from tfmc_run import check_stderr, compare, compile_model, run, tool  # noqa: E402
from transformers import T5Config, T5ForConditionalGeneration  # noqa: E402
import tfmc_rt  # noqa: E402

work, which = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
B, S, T, V = 2, 37, 29, 1000
torch.manual_seed(9)
cfg = T5Config(vocab_size=V, d_model=48, d_kv=10, d_ff=72, num_layers=2, num_decoder_layers=3,
               num_heads=3, relative_attention_num_buckets=32,
               relative_attention_max_distance=20, dropout_rate=0.0,
               feed_forward_proj="gated-gelu" if which == "t5-gated" else "relu",
               tie_word_embeddings=which == "t5", decoder_start_token_id=0)
model = T5ForConditionalGeneration(cfg).eval()
# Default initialisation leaves norms at 1; perturb everything, with
# relative bias tables large enough that positions change the result
# (matrices at std 0.1: at 0.15 the unscaled scores make the model so
# ill-conditioned that PyTorch's own f32 logits are 2.6e-5 from f64).
with torch.no_grad():
    for name, p in model.named_parameters():
        if "relative_attention_bias" in name:
            p.normal_(0.0, 1.0)
        elif "layer_norm" in name:
            p.add_(0.1 * torch.randn_like(p))
        else:
            p.normal_(0.0, 0.1)
folder = os.path.join(work, which)
model.save_pretrained(folder, safe_serialization=True)
if which == "t5":
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(train_t5_tokenizer(work, V, read_fortunes()), f, ensure_ascii=False)
t = torch.from_numpy
rng = np.random.default_rng(4)
src = rng.integers(2, V, size=(B, S), dtype=np.int64)
mask = np.ones((B, S), dtype=np.int64)
mask[1, S - 8:] = 0
tgt = rng.integers(2, V, size=(B, T), dtype=np.int64)

art = compile_model(folder, os.path.join(work, which + ".fixed"), "--batch=%d" % B,
                    "--seq-len=%d" % S, "--target-seq-len=%d" % T)
with torch.no_grad():
    enc_ref = model.encoder(input_ids=t(src), attention_mask=t(mask)).last_hidden_state.numpy()
    logits_ref = model(input_ids=t(src), attention_mask=t(mask),
                       decoder_input_ids=t(tgt)).logits.numpy()
enc = run(art, {"input_ids": src, "attention_mask": mask}, "encode")["encoder_hidden_states"]
compare("%s encode, padded batch, valid positions" % which,
        np.concatenate([enc[0], enc[1, :S - 8]]),
        np.concatenate([enc_ref[0], enc_ref[1, :S - 8]]))
# The decoder reads tfmc's own encoder states (their padded rows are
# masked out by attention_mask).
logits = run(art, {"decoder_input_ids": tgt, "encoder_hidden_states": enc,
                   "attention_mask": mask}, "decode")["logits"]
compare("%s decode logits" % which, logits, logits_ref)

# Dynamic lengths: decode_step against the full decoder, then generation.
gen_art = compile_model(folder, os.path.join(work, which + ".gen"))
one_src, one_tgt = src[:1, :23], rng.integers(2, V, size=(1, 30))
with torch.no_grad():
    want = model(input_ids=t(one_src), decoder_input_ids=t(one_tgt)).logits.numpy()[0]
g = tfmc_rt.Model(gen_art).generator()
g.encode(one_src[0])
steps = []
for i in range(one_tgt.shape[1]):
    g.append(one_tgt[0, i:i + 1])
    steps.append(g.logits())
compare("%s decode_step to %d, every step" % (which, one_tgt.shape[1]), np.stack(steps), want)

model.generation_config.eos_token_id = None
with torch.no_grad():
    ref_ids = model.generate(t(one_src), do_sample=False, max_new_tokens=24,
                             decoder_start_token_id=0)[0, 1:].tolist()
g.reset()
g.encode(one_src[0])
g.append([0])
got = []
for _ in range(24):
    nxt = int(np.argmax(g.logits()))
    got.append(nxt)
    g.append([nxt])
ok = got == ref_ids
print("%s greedy generation: %d tokens %s generate() %s" %
      (which, len(got), "equal" if ok else "differ from", "OK" if ok else "FAIL"))
if not ok:
    sys.exit("got %s\nwant %s" % (got, ref_ids))

if which == "t5":
    from tokenizers import Tokenizer
    hf_tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    prompt = "translate English to German: Lucky 42, café — naïve ＦＵＬＬ"
    pids = hf_tok.encode(prompt).ids
    model.generation_config.eos_token_id = 1
    with torch.no_grad():
        want = model.generate(t(np.array([pids])), do_sample=False, max_new_tokens=24,
                              decoder_start_token_id=0)[0, 1:].tolist()
    if want and want[-1] == 1:
        want = want[:-1]  # tfmc-run stops at </s> without printing it
    r = subprocess.run([tool("tfmc-run"), gen_art, "--prompt", prompt, "--max-new-tokens",
                        "24", "--show-ids"], capture_output=True)
    if r.returncode != 0:
        sys.exit("tfmc-run --prompt failed:\n" + r.stderr.decode())
    check_stderr("tfmc-run --prompt", r.stderr.decode())
    text, _, id_line = r.stdout.decode("utf-8").rpartition("\nids:")
    got_ids = [i for i in map(int, id_line.split()) if i != 1]
    ref_text = hf_tok.decode(got_ids, skip_special_tokens=True)
    ok = got_ids == want and text == ref_text
    print("t5 --prompt: source of %d tokens (ends in </s>: %s), %d greedy tokens %s generate(), "
          "text %s %s" % (len(pids), pids[-1] == 1, len(got_ids),
                          "equal" if got_ids == want else "differ from",
                          "equals the decode" if text == ref_text else "differs",
                          "OK" if ok else "FAIL"))
    if not ok:
        sys.exit("ids %s\nwant %s\ntext %r\nwant %r" % (got_ids, want, text, ref_text))
print("OK")
