"""Hugging Face GPT-2, BERT and Llama folders written by transformers
itself, with random weights and odd sizes (d 96, 3 heads, vocab 1000, batch
2, sequence 37; Llama: 6 query heads over 2 key/value heads, rope_theta
500000, untied head, with and without attention biases), compiled by tfmc
and compared with transformers' GPT2LMHeadModel, BertModel (padding and
token types included) and LlamaForCausalLM (eager attention) at fp32 atol
1e-5, rtol 1e-4. Llama also generates with its KV cache: prefill 17
tokens, then one token at a time to 40, every step's logits compared with
transformers' full forward.

Mistral (an 11-token sliding window, shorter than every sequence here:
prefill, decode, generation and the unfused attention maps all cross it)
and Qwen2 (q/k/v biases only) the same way. Mixtral: Mistral's attention
with a sparse mixture of 5 gated experts, 2 chosen per token (router
softmax, top-k, renormalised), the experts' outputs index_add_-ed in
expert order -- compiled to tfm.moe_gate + tfm.moe, computing only the
chosen experts.

The Llama-style folders also get a tokenizer.json trained here on the
fortunes text (SentencePiece style for Llama, Mistral and Gemma, byte-level
for Qwen2 and Phi): their batch-2 forward runs right-padded with an
attention_mask (valid positions compared), batch 1 runs without one, and
`tfmc-run --prompt` generates 32 greedy tokens that must equal
transformers' generate(do_sample=False), with the streamed text equal to
what the tokenizer decodes.

usage: check_hf.py WORKDIR gpt2|bert|llama|llama-bias|llama-sharded|llama-linear|llama-dynamic|mistral|qwen2|gemma|phi|mixtral
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import check_stderr, compare, compile_model, run, tool  # noqa: E402
from transformers import (BertConfig, BertModel, GPT2Config, GPT2LMHeadModel,  # noqa: E402
                          GemmaConfig, GemmaForCausalLM, LlamaConfig, LlamaForCausalLM,
                          MistralConfig, MistralForCausalLM, MixtralConfig,
                          MixtralForCausalLM, PhiConfig, PhiForCausalLM,
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
elif which in ("llama", "llama-bias", "llama-sharded", "llama-linear", "llama-dynamic", "mistral", "qwen2", "gemma", "phi",
               "mixtral"):
    # Mistral: an 11-token sliding window; Qwen2: q/k/v biases without an
    # output bias.
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
        "mistral": (MistralForCausalLM, MistralConfig(**sizes, sliding_window=11)),
        "qwen2": (Qwen2ForCausalLM, Qwen2Config(**sizes)),
        # 5 experts of 200 features, 2 per token, and a 13-token window.
        "mixtral": (MixtralForCausalLM, MixtralConfig(
            **sizes, num_local_experts=5, num_experts_per_tok=2, sliding_window=13)),
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
GENERATES = ("llama", "mistral", "qwen2", "gemma", "phi", "mixtral")
if which in GENERATES:
    style = "byte_level" if which in ("qwen2", "phi") else "sentencepiece"
    tok_doc = tfmc_ref.train_bpe_tokenizer(style, 1000, tfmc_ref.read_fortunes())
    assert len(tok_doc["model"]["vocab"]) == 1000, len(tok_doc["model"]["vocab"])
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tok_doc, f, ensure_ascii=False)
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
        if which not in ("gpt2",):
            # Right padding: the second row's last 9 positions are padding.
            mask = np.ones((B, S), dtype=np.int64)
            mask[1, S - 9:] = 0
            got = run(art, {"input_ids": ids, "attention_mask": mask})["logits"]
            want = model(t(ids), attention_mask=t(mask)).logits.numpy()
            compare("hf-%s padded batch, valid positions" % which,
                    np.concatenate([got[0], got[1, :S - 9]]),
                    np.concatenate([want[0], want[1, :S - 9]]))
        if which == "mistral":
            # The unfused path (tfm.causal_mask with the window): the debug
            # entry's logits and attention probabilities.
            maps = compile_model(folder, os.path.join(work, which + ".maps"), "--batch=%d" % B,
                                 "--seq-len=%d" % S, "--attention-maps")
            outs = run(maps, {"input_ids": ids}, entry="forward_attention")
            ref = model(t(ids), output_attentions=True)
            compare("hf-mistral unfused logits", outs["logits"], ref.logits.numpy())
            compare("hf-mistral attention probabilities, layer 1", outs["attention.1"],
                    ref.attentions[1].numpy())
        if which != "gpt2":
            # Dynamic lengths (no --seq-len): prefill and KV-cache decode.
            gen_art = compile_model(folder, os.path.join(work, which + ".gen"))
            one = rng.integers(0, 1000, size=(1, 23), dtype=np.int64)
            compare("hf-%s batch 1, no mask" % which,
                    run(gen_art, {"input_ids": one})["logits"], model(t(one)).logits.numpy())
            gen = tfmc_rt.Model(gen_art).generator()
            seq = rng.integers(0, 1000, size=(1, 40), dtype=np.int64)
            want = model(t(seq)).logits.numpy()[0]
            gen.append(seq[0, :17])
            steps = [gen.logits()]
            for i in range(17, 40):
                gen.append(seq[0, i:i + 1])
                steps.append(gen.logits())
            compare("hf-%s prefill 17 + decode to 40, every step" % which,
                    np.stack(steps), want[16:])
        if which in GENERATES:
            from tokenizers import Tokenizer
            hf_tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
            prompt = "Lucky 42, café 😀"
            pids = hf_tok.encode(prompt).ids
            want = model.generate(t(np.array([pids])), do_sample=False, max_new_tokens=32,
                                  pad_token_id=0)[0, len(pids):].tolist()
            r = subprocess.run([tool("tfmc-run"), gen_art, "--prompt", prompt,
                                "--max-new-tokens", "32", "--show-ids"],
                               capture_output=True)
            if r.returncode != 0:
                sys.exit("tfmc-run --prompt failed:\n" + r.stderr.decode())
            check_stderr("tfmc-run --prompt", r.stderr.decode())
            text, _, id_line = r.stdout.decode("utf-8").rpartition("\nids:")
            got_ids = [int(x) for x in id_line.split()]
            # What follows the prompt's own decoding (where generated byte
            # tokens change how the prompt's last character decodes: after
            # the common prefix).
            skip = dict(skip_special_tokens=True)
            full, base = hf_tok.decode(pids + got_ids, **skip), hf_tok.decode(pids, **skip)
            stream = prompt + full[len(os.path.commonprefix([full, base])):]
            ok = got_ids == want and text == stream
            print("hf-%s --prompt: %d greedy tokens %s transformers generate, streamed text %s %s"
                  % (which, len(got_ids), "equal" if got_ids == want else "differ from",
                     "equals the decode" if text == stream else "differs", "OK" if ok else "FAIL"))
            if not ok:
                sys.exit("ids %s\nwant %s\ntext %r\nwant %r" % (got_ids, want, text, stream))
    else:
        mask, types = tfmc_ref.bert_inputs(B, S)
        got = run(art, {"input_ids": ids, "attention_mask": mask,
                        "token_type_ids": types})["last_hidden_state"]
        want = model(t(ids), attention_mask=t(mask), token_type_ids=t(types)).last_hidden_state
        compare("hf-bert last_hidden_state", got, want.numpy())
print("OK")
