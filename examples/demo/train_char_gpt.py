"""Trains the bundled character-level GPT on Debian's fortunes text.

    /usr/bin/python3 examples/demo/train_char_gpt.py [--minutes M] [--out DIR]

CPU only (Debian's python3-torch), about 18 minutes on two cores. Writes DIR
(default examples/models/char-gpt): model.toml (the architecture, in tfmc's
format, with a char tokenizer), model.safetensors (tfmc's canonical names,
through the reference model of test/lib/tfmc_ref.py) and chars.json (the
vocabulary: one entry per character id).
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
from tfmc_ref import RefModel, read_fortunes, save_char_model  # noqa: E402

CONFIG = dict(family="decoder", vocab_size=0, d_model=128, num_heads=4, d_ff=512,
              decoder_layers=4, max_seq_len=128, norm="layernorm",
              norm_placement="pre", activation="gelu", positional_encoding="learned",
              tie_embeddings=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=18.0)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--out", default=os.path.join(ROOT, "examples", "models", "char-gpt"))
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)

    cookies = read_fortunes(ascii_only=True)
    text = "\n\n".join(cookies) + "\n"
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    split = int(0.95 * len(data))
    train, val = data[:split], data[split:]
    cfg = dict(CONFIG, vocab_size=len(chars))
    ctx = cfg["max_seq_len"]
    print(f"{len(cookies)} fortunes, {len(text)} characters, vocabulary {len(chars)}")

    model = RefModel(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
            elif "norm" not in name:
                p.zero_()
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01,
                            betas=(0.9, 0.98))
    batch, warmup = 32, 100

    def batch_of(src):
        ix = torch.randint(len(src) - ctx - 1, (batch,))
        x = torch.stack([src[i:i + ctx] for i in ix])
        y = torch.stack([src[i + 1:i + ctx + 1] for i in ix])
        return x, y

    start = time.time()
    step = 0
    while step < args.steps and time.time() - start < args.minutes * 60:
        frac = min(1.0, (time.time() - start) / (args.minutes * 60))
        lr = 3e-3 * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch_of(train)
        loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
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
            losses.append(F.cross_entropy(model(x).reshape(-1, len(chars)),
                                          y.reshape(-1)).item())
    print(f"trained {step} steps in {time.time() - start:.0f}s; "
          f"validation loss {sum(losses) / len(losses):.3f} nats/char")

    os.makedirs(args.out, exist_ok=True)
    save_char_model(args.out, model, cfg, chars,
                    "A character-level GPT trained on Debian's fortunes by\n"
                    "examples/demo/train_char_gpt.py.")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
