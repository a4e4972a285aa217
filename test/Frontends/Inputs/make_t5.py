"""Tiny Hugging Face T5 folders saved by transformers (d_model 24, 3 heads
of d_kv 5, relu with a tied head and gated-gelu untied), plus copies whose
config.json carries one unsupported or inconsistent key each.
usage: make_t5.py DIR"""
import json
import os
import shutil
import sys

import torch
from transformers import T5Config, T5ForConditionalGeneration

out = sys.argv[1]
torch.manual_seed(0)
sizes = dict(vocab_size=100, d_model=24, d_kv=5, d_ff=40, num_layers=2, num_decoder_layers=1,
             num_heads=3)
T5ForConditionalGeneration(T5Config(**sizes)).save_pretrained(
    os.path.join(out, "t5"), safe_serialization=True)
T5ForConditionalGeneration(T5Config(**sizes, feed_forward_proj="gated-gelu",
                                    tie_word_embeddings=False)).save_pretrained(
    os.path.join(out, "t5-gated"), safe_serialization=True)
for name, change in [("t5-proj", {"feed_forward_proj": "gated-mish"}),
                     ("t5-buckets", {"relative_attention_num_buckets": 3}),
                     ("t5-distance", {"relative_attention_max_distance": 8}),
                     ("t5-decoder", {"is_decoder": True})]:
    d = os.path.join(out, name)
    shutil.copytree(os.path.join(out, "t5"), d)
    path = os.path.join(d, "config.json")
    c = json.load(open(path))
    c.update(change)
    json.dump(c, open(path, "w"), indent=2)
