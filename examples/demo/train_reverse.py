"""Trains the bundled encoder-decoder to reverse strings of letters.

    /usr/bin/python3 examples/demo/train_reverse.py [--minutes M] [--out DIR]

The original Transformer's shape (post-LN, ReLU, sinusoidal positions,
embeddings scaled by sqrt(d_model), shared and tied) on a synthetic task that
only cross-attention can solve: the decoder must read the source from the
end. Writes DIR (default examples/models/reverse): model.toml,
model.safetensors and chars.json (<pad>, <bos>, <eos>, then a-z).
"""
import argparse
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
from tfmc_ref import RefModel, save_char_model  # noqa: E402

VOCAB = ["<pad>", "<bos>", "<eos>"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
PAD, BOS, EOS = 0, 1, 2
MIN_LEN, MAX_LEN = 2, 14
CONFIG = dict(family="encoder-decoder", vocab_size=len(VOCAB), d_model=64,
              num_heads=4, d_ff=256, encoder_layers=2, decoder_layers=2,
              max_seq_len=32, norm="layernorm", norm_placement="post",
              activation="relu", positional_encoding="sinusoidal",
              embedding_scale=True, tie_embeddings=True, shared_embeddings=True,
              pad_id=PAD, bos_id=BOS, eos_id=EOS)


def batch_of(rng, n):
    """n strings of one random length: (source, decoder input, target)."""
    length = rng.randint(MIN_LEN, MAX_LEN)
    src = torch.tensor([[rng.randint(3, len(VOCAB) - 1) for _ in range(length)]
                        for _ in range(n)])
    rev = src.flip(1)
    tgt_in = torch.cat([torch.full((n, 1), BOS), rev], 1)
    tgt_out = torch.cat([rev, torch.full((n, 1), EOS)], 1)
    return src, tgt_in, tgt_out


def greedy(model, src, limit):
    memory = model.encode(src)
    out = [BOS]
    for _ in range(limit):
        logits = model.decode(torch.tensor([out]), memory)
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if nxt == EOS:
            break
    return out[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--out", default=os.path.join(ROOT, "examples", "models", "reverse"))
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = random.Random(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = RefModel(CONFIG)
    with torch.no_grad():
        model.embed_tokens.weight.normal_(std=64 ** -0.5)
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
    start, step = time.time(), 0
    while step < args.steps and time.time() - start < args.minutes * 60:
        frac = min(1.0, max(step / args.steps, (time.time() - start) / (args.minutes * 60)))
        lr = 1e-3 * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        src, tgt_in, tgt_out = batch_of(rng, 64)
        logits = model.decode(tgt_in, model.encode(src))
        loss = F.cross_entropy(logits.reshape(-1, len(VOCAB)), tgt_out.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 200 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.time() - start:.0f}s", flush=True)
        step += 1
    model.eval()
    test = random.Random(123)
    correct = 0
    with torch.no_grad():
        for _ in range(200):
            length = test.randint(MIN_LEN, MAX_LEN)
            s = [test.randint(3, len(VOCAB) - 1) for _ in range(length)]
            correct += greedy(model, torch.tensor([s]), MAX_LEN + 1) == s[::-1] + [EOS]
    print(f"trained {step} steps in {time.time() - start:.0f}s; "
          f"greedy exact match {correct}/200")

    save_char_model(args.out, model, CONFIG, VOCAB,
                    "An encoder-decoder that reverses strings of a-z, trained by\n"
                    "examples/demo/train_reverse.py.")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
