"""A tiny Hugging Face llama folder saved by transformers (d 24, 6 query
heads over 2 key/value heads, vocab 100), plus copies whose config.json
carries one unsupported or inconsistent key each.
usage: make_llama.py DIR"""
import json
import os
import shutil
import sys

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

out = sys.argv[1]
torch.manual_seed(0)
cfg = LlamaConfig(hidden_size=24, num_attention_heads=6, num_key_value_heads=2,
                  num_hidden_layers=1, intermediate_size=40, vocab_size=100,
                  max_position_embeddings=16, rope_theta=500000.0)
LlamaForCausalLM(cfg).save_pretrained(os.path.join(out, "llama"), safe_serialization=True)
sizes = dict(hidden_size=24, num_attention_heads=6, num_key_value_heads=2, num_hidden_layers=1,
             intermediate_size=40, vocab_size=100, max_position_embeddings=16)
MistralForCausalLM(MistralConfig(**sizes, sliding_window=8)).save_pretrained(
    os.path.join(out, "mistral"), safe_serialization=True)
Qwen2ForCausalLM(Qwen2Config(**sizes)).save_pretrained(
    os.path.join(out, "qwen2"), safe_serialization=True)
for name, change in [("rope-scaling", {"rope_scaling": {"type": "yarn", "factor": 2.0}}),
                     ("rope-factor", {"rope_scaling": {"type": "linear", "factor": 1}}),
                     ("rope-linear", {"rope_scaling": {"type": "linear", "factor": 2.5}}),
                     ("kv-heads", {"num_key_value_heads": 4}),
                     ("theta", {"rope_theta": 1.0}),
                     ("act", {"hidden_act": "quick_gelu"})]:
    d = os.path.join(out, name)
    shutil.copytree(os.path.join(out, "llama"), d)
    path = os.path.join(d, "config.json")
    c = json.load(open(path))
    c.update(change)
    json.dump(c, open(path, "w"), indent=2)
