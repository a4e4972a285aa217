"""Trains the bundled Llama-architecture model on Debian's fortunes text.

    .venv/bin/python examples/demo/train_llama.py [--minutes M] [--out DIR]

CPU only, about 15 minutes on two cores. A transformers LlamaForCausalLM
(rotary positions, grouped-query attention: 6 query heads over 2 key/value
heads, SwiGLU MLP, RMSNorm, a tied head) over a 2048-token BPE trained here
with Hugging Face `tokenizers` in Llama 2's tokenizer.json layout (byte
fallback, <s> framing; test/lib/tfmc_ref.py's train_bpe_tokenizer). Each
fortune is one training document: <s> text </s>. Writes DIR (default
examples/models/fortune-llama) as a Hugging Face folder -- config.json,
model.safetensors (float16, under 8 MB) and tokenizer.json -- that
`tfmc DIR` compiles as it is.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
from tfmc_ref import read_fortunes, train_bpe_tokenizer  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

VOCAB = 2048
CONFIG = dict(vocab_size=VOCAB, hidden_size=192, num_attention_heads=6, num_key_value_heads=2,
              num_hidden_layers=4, intermediate_size=512, max_position_embeddings=256,
              rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--out", default=os.path.join(ROOT, "examples", "models", "fortune-llama"))
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)

    cookies = read_fortunes()
    doc = train_bpe_tokenizer("sentencepiece", VOCAB, cookies)
    tok = Tokenizer.from_str(json.dumps(doc))
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    stream = []
    for enc in tok.encode_batch(cookies):  # <s> ... from the post-processor
        stream.extend(enc.ids + [CONFIG["eos_token_id"]])
    data = torch.tensor(stream, dtype=torch.long)
    split = int(0.95 * len(data))
    train, val = data[:split], data[split:]
    ctx = 128
    print(f"{len(cookies)} fortunes, {len(data)} tokens (vocabulary {VOCAB})")

    cfg = LlamaConfig(**CONFIG)
    model = LlamaForCausalLM._from_config(cfg, attn_implementation="eager")
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01, betas=(0.9, 0.98))
    batch, warmup = 32, 100

    def batch_of(src):
        ix = torch.randint(len(src) - ctx - 1, (batch,))
        x = torch.stack([src[i:i + ctx] for i in ix])
        y = torch.stack([src[i + 1:i + ctx + 1] for i in ix])
        return x, y

    start = time.time()
    step = 0
    model.train()
    while step < args.steps and time.time() - start < args.minutes * 60:
        frac = min(1.0, (time.time() - start) / (args.minutes * 60))
        lr = 3e-3 * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch_of(train)
        loss = F.cross_entropy(model(x).logits.reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.3f} lr {lr:.2e} "
                  f"{time.time() - start:.0f}s", flush=True)
        step += 1
    model.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        losses = []
        for _ in range(20):
            x, y = batch_of(val)
            losses.append(F.cross_entropy(model(x).logits.reshape(-1, VOCAB),
                                          y.reshape(-1)).item())
    print(f"trained {step} steps in {time.time() - start:.0f}s; "
          f"validation loss {sum(losses) / len(losses):.3f} nats/token")

    os.makedirs(args.out, exist_ok=True)
    model.half().save_pretrained(args.out, safe_serialization=True)
    with open(os.path.join(args.out, "tokenizer.json"), "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
