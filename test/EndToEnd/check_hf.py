"""Hugging Face GPT-2, BERT and Llama folders written by transformers
itself, with random weights and odd sizes (d 96, 3 heads, vocab 1000, batch
2, sequence 37; Llama: 6 query heads over 2 key/value heads, rope_theta
500000, untied head, with and without attention biases), compiled by tfmc
and compared with transformers' GPT2LMHeadModel, BertModel (padding and
token types included) and LlamaForCausalLM (eager attention) at fp32 atol
1e-5, rtol 1e-4. Llama also generates with its KV cache: prefill 17
tokens, then one token at a time to 40, every step's logits compared with
transformers' full forward.

Mistral (sliding window 48) and Qwen2 (q/k/v biases only) the same way.

usage: check_hf.py WORKDIR gpt2|bert|llama|llama-bias|llama-sharded|llama-linear|llama-dynamic|mistral|qwen2|gemma|phi
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import compare, compile_model, run  # noqa: E402
from transformers import (BertConfig, BertModel, GPT2Config, GPT2LMHeadModel,  # noqa: E402
                          GemmaConfig, GemmaForCausalLM, LlamaConfig, LlamaForCausalLM,
                          MistralConfig, MistralForCausalLM, PhiConfig, PhiForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)
import tfmc_ref  # noqa: E402
import tfmc_rt  # noqa: E402

work, which = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
B, S = 2, 37
torch.manual_seed(5)
if which == "gpt2":
    model = GPT2LMHeadModel(GPT2Config(n_embd=96, n_head=3, n_layer=2, vocab_size=1000,
                                       n_positions=64, attn_pdrop=0, embd_pdrop=0,
                                       resid_pdrop=0)).eval()
elif which in ("llama", "llama-bias", "llama-sharded", "llama-linear", "llama-dynamic", "mistral", "qwen2", "gemma", "phi"):
    # Mistral: a 48-token sliding window (tfmc then accepts 48 positions);
    # Qwen2: q/k/v biases without an output bias.
    sizes = dict(hidden_size=96, num_attention_heads=6, num_key_value_heads=2,
                 num_hidden_layers=2, intermediate_size=200, vocab_size=1000,
                 max_position_embeddings=64, rope_theta=500000.0)
    cls, cfg = {
        "llama": (LlamaForCausalLM, LlamaConfig(**sizes)),
        "llama-bias": (LlamaForCausalLM, LlamaConfig(**sizes, attention_bias=True)),
        # Saved in shards (model.safetensors.index.json), tied head.
        "llama-sharded": (LlamaForCausalLM, LlamaConfig(**sizes, tie_word_embeddings=True)),
        "llama-linear": (LlamaForCausalLM, LlamaConfig(
            **sizes, rope_scaling={"type": "linear", "factor": 4.0})),
        # Dynamic NTK scaling changes nothing up to max_position_embeddings.
        "llama-dynamic": (LlamaForCausalLM, LlamaConfig(
            **sizes, rope_scaling={"type": "dynamic", "factor": 2.0})),
        "mistral": (MistralForCausalLM, MistralConfig(**sizes, sliding_window=48)),
        "qwen2": (Qwen2ForCausalLM, Qwen2Config(**sizes)),
        # Gemma: head_dim 20 (not 96 / 6), (1 + w) RMSNorm, sqrt(d) embeddings, tied head.
        "gemma": (GemmaForCausalLM, GemmaConfig(**sizes, head_dim=20)),
        # Phi: parallel attention + MLP from one LayerNorm, rotary on 6 of
        # 16 features per head, biases everywhere (LM head included).
        "phi": (PhiForCausalLM, PhiConfig(**sizes, partial_rotary_factor=0.375)),
    }[which]
    model = cls._from_config(cfg, attn_implementation="eager").eval()
else:
    model = BertModel(BertConfig(hidden_size=96, num_attention_heads=3, num_hidden_layers=2,
                                 intermediate_size=200, vocab_size=1000,
                                 max_position_embeddings=64), add_pooling_layer=False).eval()
# Default initialisation leaves norms at 1 and biases at 0; perturb them all.
# Llama's matrices are drawn large enough (std 0.1) that attention is peaked
# and the rotary positions change the result (at std 0.02 the softmax is
# nearly uniform and positions would hardly matter).
with torch.no_grad():
    for name, p in model.named_parameters():
        if which not in ("gpt2", "bert") and p.dim() == 2:
            p.normal_(0.0, 0.1)
        else:
            p.add_(0.02 * torch.randn_like(p))
folder = os.path.join(work, which)
model.save_pretrained(folder, safe_serialization=True,
                      **({"max_shard_size": "150KB"} if which == "llama-sharded" else {}))
if which == "llama-sharded":
    shards = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors"))
    assert len(shards) > 2 and "model.safetensors.index.json" in os.listdir(folder), shards
    print("llama-sharded: %d shards" % len(shards))
art = compile_model(folder, os.path.join(work, which + ".out"), "--batch=%d" % B,
                    "--seq-len=%d" % S)

rng = np.random.default_rng(3)
ids = rng.integers(0, 1000, size=(B, S), dtype=np.int64)
t = torch.from_numpy
with torch.no_grad():
    if which != "bert":
        got = run(art, {"input_ids": ids})["logits"]
        compare("hf-%s logits" % which, got, model(t(ids)).logits.numpy())
        if which != "gpt2":
            # Dynamic lengths (no --seq-len): prefill and KV-cache decode.
            gen = tfmc_rt.Model(compile_model(folder, os.path.join(work, which + ".gen"))).generator()
            seq = rng.integers(0, 1000, size=(1, 40), dtype=np.int64)
            want = model(t(seq)).logits.numpy()[0]
            gen.append(seq[0, :17])
            steps = [gen.logits()]
            for i in range(17, 40):
                gen.append(seq[0, i:i + 1])
                steps.append(gen.logits())
            compare("hf-%s prefill 17 + decode to 40, every step" % which,
                    np.stack(steps), want[16:])
    else:
        mask, types = tfmc_ref.bert_inputs(B, S)
        got = run(art, {"input_ids": ids, "attention_mask": mask,
                        "token_type_ids": types})["last_hidden_state"]
        want = model(t(ids), attention_mask=t(mask), token_type_ids=t(types)).last_hidden_state
        compare("hf-bert last_hidden_state", got, want.numpy())
print("OK")
