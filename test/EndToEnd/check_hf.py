"""Hugging Face GPT-2 and BERT folders written by transformers itself, with
random weights and odd sizes (d 96, 3 heads, vocab 1000, batch 2, sequence
37), compiled by tfmc and compared with transformers' GPT2LMHeadModel and
BertModel (padding and token types included) at fp32 atol 1e-5, rtol 1e-4.

usage: check_hf.py WORKDIR gpt2|bert
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import compare, compile_model, run  # noqa: E402
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel  # noqa: E402

work, which = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
B, S = 2, 37
torch.manual_seed(5)
if which == "gpt2":
    model = GPT2LMHeadModel(GPT2Config(n_embd=96, n_head=3, n_layer=2, vocab_size=1000,
                                       n_positions=64, attn_pdrop=0, embd_pdrop=0,
                                       resid_pdrop=0)).eval()
else:
    model = BertModel(BertConfig(hidden_size=96, num_attention_heads=3, num_hidden_layers=2,
                                 intermediate_size=200, vocab_size=1000,
                                 max_position_embeddings=64), add_pooling_layer=False).eval()
# Default initialisation leaves norms at 1 and biases at 0; perturb them all.
with torch.no_grad():
    for name, p in model.named_parameters():
        p.add_(0.02 * torch.randn_like(p))
folder = os.path.join(work, which)
model.save_pretrained(folder, safe_serialization=True)
art = compile_model(folder, os.path.join(work, which + ".out"), "--batch=%d" % B,
                    "--seq-len=%d" % S)

rng = np.random.default_rng(3)
ids = rng.integers(0, 1000, size=(B, S), dtype=np.int64)
t = torch.from_numpy
with torch.no_grad():
    if which == "gpt2":
        got = run(art, {"input_ids": ids})["logits"]
        compare("hf-gpt2 logits", got, model(t(ids)).logits.numpy())
    else:
        mask = np.ones((B, S), dtype=np.int64)
        mask[0, S - 9:] = 0
        types = (np.arange(S)[None, :] >= 20).astype(np.int64).repeat(B, 0)
        got = run(art, {"input_ids": ids, "attention_mask": mask,
                        "token_type_ids": types})["last_hidden_state"]
        want = model(t(ids), attention_mask=t(mask), token_type_ids=t(types)).last_hidden_state
        compare("hf-bert last_hidden_state", got, want.numpy())
print("OK")
