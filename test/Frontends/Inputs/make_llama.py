"""A tiny Hugging Face llama folder saved by transformers (d 24, 6 query
heads over 2 key/value heads, vocab 100), plus copies whose config.json
carries one unsupported or inconsistent key each.
usage: make_llama.py DIR"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (GemmaConfig, GemmaForCausalLM, PhiConfig, PhiForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          MixtralConfig, MixtralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

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
GemmaForCausalLM(GemmaConfig(**sizes, head_dim=6)).save_pretrained(
    os.path.join(out, "gemma"), safe_serialization=True)
PhiForCausalLM(PhiConfig(**sizes, partial_rotary_factor=0.5)).save_pretrained(
    os.path.join(out, "phi"), safe_serialization=True)
for name, change in [("phi-rotary", {"partial_rotary_factor": 0.25}),
                     ("phi-qk-norm", {"qk_layernorm": True})]:
    shutil.copytree(os.path.join(out, "phi"), os.path.join(out, name))
    path = os.path.join(out, name, "config.json")
    c = json.load(open(path))
    c.update(change)
    json.dump(c, open(path, "w"), indent=2)
Qwen2ForCausalLM(Qwen2Config(**sizes)).save_pretrained(
    os.path.join(out, "qwen2"), safe_serialization=True)
# Mixtral: 3 experts, 2 per token; a copy choosing more experts than there
# are, and one whose checkpoint lacks an expert's up projection.
MixtralForCausalLM(MixtralConfig(**sizes, num_local_experts=3)).save_pretrained(
    os.path.join(out, "mixtral"), safe_serialization=True)
for name in ("mixtral-topk", "mixtral-missing"):
    shutil.copytree(os.path.join(out, "mixtral"), os.path.join(out, name))
path = os.path.join(out, "mixtral-topk", "config.json")
c = json.load(open(path))
c["num_experts_per_tok"] = 4
json.dump(c, open(path, "w"), indent=2)
path = os.path.join(out, "mixtral-missing", "model.safetensors")
tensors = load_file(path)
del tensors["model.layers.0.block_sparse_moe.experts.2.w3.weight"]
save_file(tensors, path, metadata={"format": "pt"})
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

# A sharded checkpoint, and broken copies of its index.
sharded = os.path.join(out, "sharded")
LlamaForCausalLM(cfg).save_pretrained(sharded, safe_serialization=True, max_shard_size="20KB")
index_name = "model.safetensors.index.json"
first = sorted(f for f in os.listdir(sharded) if f.endswith(".safetensors"))[0]


def broken(name, edit):
    d = os.path.join(out, name)
    shutil.copytree(sharded, d, symlinks=True)
    path = os.path.join(d, index_name)
    index = json.load(open(path))
    edit(d, index["weight_map"])
    json.dump(index, open(path, "w"), indent=2)


def escape(d, m):
    m["model.norm.weight"] = "../sharded/" + first


def missing(d, m):
    m["model.norm.weight"] = "model-99999-of-99999.safetensors"


def wrong(d, m):
    other = next(s for s in sorted(set(m.values())) if s != m["model.norm.weight"])
    m["model.norm.weight"] = other


def symlink(d, m):
    outside = os.path.join(out, "outside.safetensors")
    shutil.copy(os.path.join(d, m["model.norm.weight"]), outside)
    os.symlink(outside, os.path.join(d, "link.safetensors"))
    m["model.norm.weight"] = "link.safetensors"


for name, edit in [("shard-escape", escape), ("shard-missing", missing),
                   ("shard-wrong", wrong), ("shard-symlink", symlink)]:
    broken(name, edit)
