"""PyTorch reference models for tfmc's model format, and file helpers.

The reference implements exactly the computation the seed articles describe
(and tfmc's frontend emits): embeddings (scaled by sqrt(d_model) when asked),
sinusoidal or learned positions, multi-head scaled dot-product attention with
additive -1e9 masks, residual + LayerNorm (post- or pre-LN), position-wise FFN,
final norm and LM head. Parameter names are tfmc's canonical names
(docs/model-format.md), so a state_dict saved as safetensors is a valid
weights file for the matching TOML model.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1.0e9


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def save_safetensors(path, tensors, dtype="F32"):
    """Writes {name: array} as safetensors (F32, F16 or BF16)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(np.asarray(tensors[name], dtype=np.float32))
        if dtype == "F32":
            raw = a.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = a.astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_fortunes(ascii_only=False):
    """Every cookie of Debian's fortunes packages (/usr/share/games/fortunes),
    in file order; with `ascii_only`, tabs become spaces and cookies with
    other non-printable-ASCII characters are dropped."""
    import glob
    out = []
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        if os.path.splitext(path)[1] or os.path.isdir(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for cookie in f.read().split("\n%\n"):
                cookie = cookie.strip("\n%")
                if ascii_only:
                    cookie = cookie.replace("\t", "    ")
                    if any(not (" " <= c <= "~" or c == "\n") for c in cookie):
                        continue
                if cookie.strip():
                    out.append(cookie)
    return out


def varied_lines(cookies, n):
    """`n` lines: fortunes as they are, lines of them, and synthetic text
    that exercises the pre-tokenizers' corners."""
    import random

    rng = random.Random(7)
    extra = [
        "naïve café résumé — “quoted” ‘single’ … €100 ½ ²",
        "Ελληνικά κείμενα, русский текст, עברית, العربية",
        "日本語のテキストと中文文本，한국어 텍스트。",
        "emoji 😀😃🎉 👩‍👩‍👧‍👦 flags 🇩🇪🇯🇵 skin 👍🏽 keycap 1️⃣",
        "combining: e\u0301 a\u0308 n\u0303 and ZWJ a\u200db, NBSP a\u00a0b",
        "tabs\tand\t\ttabs, newlines\n\nand\r\nCRLF, trailing spaces   ",
        "   leading spaces and    runs     of      spaces",
        "I'm you're we've they'll she'd it's can't WON'T I'M YOU'RE",
        "numbers 3.14159 1,000,000 2026-11-22 0x1F 1e-9 ٣٤٥ Ⅻ",
        "punctuation!!! ??? ... --- *** ((nested)) [brackets] {braces}",
        "mixed123abc 456def café42 x²+y²=z²",
        "<|endoftext|> special in the middle <|endoftext|>end",
        "URLs http://example.com/a?b=c&d=e#f and emails a.b@c.de",
        "  \t \n ",
        "a",
        "Unicode spaces:\u2003em\u2009thin\u3000ideographic",
        "Accents ÀÉÎÕÜ àéîõü ÇçÑñ ǅ ﬁ ﬂ ß ẞ İ ı",
        "control \x01\x02 chars \x7f and soft\u00adhyphen",
        "Math ∀x∈ℝ: x²≥0 ⇒ √x ∈ ℝ₊",
    ]
    lines = []
    for c in cookies:
        lines.append(c)
        lines.extend(l for l in c.split("\n") if l)
    rng.shuffle(lines)
    lines = lines[: n - 4 * len(extra)]
    for e in extra:
        lines.append(e)
        lines.append(e.upper())
        lines.append(e + " " + rng.choice(lines))
        lines.append(" ".join(rng.sample(e.split(" ") or [e], len(e.split(" ")))))
    return lines


def train_t5_tokenizer(work, vocab_size, texts, rules_tsv=None):
    """A T5 tokenizer.json (as a dict) of `vocab_size` tokens in all: a
    SentencePiece Unigram model trained on `texts` (T5's pad 0, eos 1, unk 2;
    nmt_nfkc rules) and converted by transformers' T5 converter with its 100
    <extra_id_N> sentinels -- a T5 folder's layout. The .model file is left
    in `work`. `rules_tsv` (SentencePiece's normalization_rule_tsv) replaces
    nmt_nfkc by a custom rule table."""
    import io
    import sentencepiece as spm
    from transformers import T5TokenizerFast

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size - 100,
        model_type="unigram",
        **({"normalization_rule_tsv": rules_tsv} if rules_tsv
           else {"normalization_rule_name": "nmt_nfkc"}),
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=0.9995,
        input_sentence_size=20000, shuffle_input_sentence=True, minloglevel=2)
    path = os.path.join(work, "t5-spiece.model")
    with open(path, "wb") as f:
        f.write(model.getvalue())
    fast = T5TokenizerFast(vocab_file=path, extra_ids=100, legacy=True)
    return json.loads(fast.backend_tokenizer.to_str())


def train_bpe_tokenizer(style, vocab_size, texts):
    """A tokenizer.json (as a dict) trained on `texts` with Hugging Face
    `tokenizers`, `vocab_size` tokens in all. style "sentencepiece": Llama
    2's layout (<unk> <s> </s>, the 256 <0xXX> byte tokens, then the merged
    tokens; Prepend + Replace normalizer, byte fallback, <s> framing, the
    Replace/ByteFallback/Fuse/Strip decoder). style "byte_level": Qwen2's
    (<|endoftext|> <|im_start|>, NFC, its split pattern, ByteLevel)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    def replace(pat, content):
        return {"type": "Replace", "pattern": {"String": pat}, "content": content}

    def added(content, i):
        return {"id": i, "content": content, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True}

    if style == "sentencepiece":
        tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.train_from_iterator(texts, trainers.BpeTrainer(
            vocab_size=vocab_size - 256, limit_alphabet=90,
            special_tokens=["<unk>", "<s>", "</s>"], show_progress=False))
        doc = json.loads(tok.to_str())
        old = doc["model"]["vocab"]
        vocab = {t: i for t, i in old.items() if i < 3}
        for b in range(256):
            vocab["<0x%02X>" % b] = len(vocab)
        for t, i in sorted(old.items(), key=lambda x: x[1]):
            if i >= 3:
                vocab[t] = i + 256
        doc["model"]["vocab"] = vocab
        doc["added_tokens"] = [added("<unk>", 0), added("<s>", 1), added("</s>", 2)]
        doc["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"}, replace(" ", "\u2581")]}
        doc["pre_tokenizer"] = None
        doc["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
        doc["decoder"] = {"type": "Sequence", "decoders": [
            replace("\u2581", " "), {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
        return doc
    assert style == "byte_level", style
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    doc = json.loads(tok.to_str())
    pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                  "use_regex": False}
    doc["added_tokens"] = [added("<|endoftext|>", 0), added("<|im_start|>", 1)]
    doc["normalizer"] = {"type": "NFC"}
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated",
         "invert": False}, byte_level]}
    doc["post_processor"] = dict(byte_level)
    doc["decoder"] = dict(byte_level)
    return doc


def write_toml(path, cfg, weights_file=None, seed=None, compile_shapes=None,
               header=None, tokenizer=None):
    """Writes a tfmc model file for the reference config `cfg`; `header`
    becomes leading comment lines, `tokenizer` a [tokenizer] kind."""
    lines = ["# " + l for l in header.splitlines()] if header else []
    lines.append("[model]")
    for k, v in cfg.items():
        if k in ("encoder_layers", "decoder_layers") or isinstance(v, dict):
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, str):
            v = '"%s"' % v
        lines.append("%s = %s" % (k, v))
    for stack in ("encoder", "decoder"):
        if cfg.get(stack + "_layers"):
            lines += ["", "[%s]" % stack, "layers = %d" % cfg[stack + "_layers"]]
    for table, keys in cfg.items():  # [moe]
        if isinstance(keys, dict):
            lines += ["", "[%s]" % table] + [
                "%s = %s" % (k, '"%s"' % v if isinstance(v, str) else v)
                for k, v in keys.items()]
    lines += ["", "[weights]"]
    if weights_file:
        lines.append('file = "%s"' % weights_file)
    else:
        lines += ['init = "random"', "seed = %d" % (seed or 0)]
    if compile_shapes:
        lines += ["", "[compile]"] + ["%s = %d" % kv for kv in compile_shapes.items()]
    if tokenizer:
        lines += ["", "[tokenizer]", 'kind = "%s"' % tokenizer]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def tfm_weights(ir_text):
    """{name: shape} of the distinct tfm.weight ops in printed tfm IR."""
    import re
    out = {}
    for m in re.finditer(r'tfm\.weight "([^"]+)" : tensor<([0-9x]+)xf32>', ir_text):
        out[m.group(1)] = tuple(int(d) for d in m.group(2).split("x"))
    # Stacks of per-expert parts ([E, rows, cols] from E * k parts of
    # [E * rows / (E * k), cols]).
    for m in re.finditer(r'tfm\.weight "[^"]+" concat \[([^]]+)\] axis 0 : '
                         r'tensor<([0-9]+)x([0-9]+)x([0-9]+)xf32>', ir_text):
        parts = re.findall(r'"([^"]+)"', m.group(1))
        e, rows, cols = (int(m.group(i)) for i in (2, 3, 4))
        for p in parts:
            out[p] = (e * rows // len(parts), cols)
    return out


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

DEFAULTS = dict(norm="layernorm", norm_placement="post", norm_eps=1e-5,
                activation="relu", positional_encoding="sinusoidal",
                attention_bias=True, ffn_bias=True, tie_embeddings=True,
                shared_embeddings=True, embedding_scale=False,
                embedding_norm=False, padding_mask=False, type_vocab_size=0,
                ffn="plain")


def rotary(x, offset=0, base=10000.0, rotary_dim=None, scaling=1.0, interleaved=False):
    """Rotary position embedding of x [B, S, H, D] at positions offset + s,
    computed as Hugging Face's Llama (transformers 4.38) computes it in f32:
    inv_freq = 1 / base^(arange(0, R, 2) / R), angles = positions * inv_freq,
    x * cos + rotate_half(x) * sin over the first R features. With
    `interleaved`, as GPT-J's apply_rotary_pos_emb: adjacent pairs
    (rotate_every_two) and each angle repeated twice."""
    d = x.shape[-1]
    r = rotary_dim or d
    inv_freq = 1.0 / (base ** (torch.arange(0, r, 2, dtype=torch.int64).float() / r))
    pos = torch.arange(offset, offset + x.shape[1], dtype=torch.int64).float()
    if scaling != 1.0:  # LlamaLinearScalingRotaryEmbedding
        pos = pos / scaling
    freqs = (inv_freq[None, :, None] @ pos[None, None, :]).transpose(1, 2)[0]
    emb = freqs.repeat_interleave(2, dim=-1) if interleaved else torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, None, :].to(x.dtype), emb.sin()[None, :, None, :].to(x.dtype)
    xr, rest = x[..., :r], x[..., r:]
    if interleaved:
        rot = torch.stack((-xr[..., 1::2], xr[..., ::2]), dim=-1).flatten(-2)
    else:
        rot = torch.cat((-xr[..., r // 2:], xr[..., :r // 2]), dim=-1)
    return torch.cat((xr * cos + rot * sin, rest), dim=-1)


def bert_inputs(b, s):
    """attention_mask (the first sequence's last 9 tokens padded) and
    token_type_ids (type 1 from position 20) for a [b, s] BERT batch."""
    mask = np.ones((b, s), dtype=np.int64)
    mask[0, s - 9:] = 0
    types = (np.arange(s)[None, :] >= 20).astype(np.int64).repeat(b, 0)
    return mask, types


def sinusoidal(seq, d, offset=0):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...), in f64."""
    pos = np.arange(offset, offset + seq, dtype=np.float64)[:, None]
    i = np.arange(d)[None, :]
    angle = pos / np.power(10000.0, (2 * (i // 2)) / d)
    pe = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.from_numpy(pe.astype(np.float32))


class Norm(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.rms = cfg["norm"] == "rmsnorm"
        self.eps = cfg["norm_eps"]
        d = cfg["d_model"]
        self.weight = nn.Parameter(torch.ones(d))
        if not self.rms:
            self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        if self.rms:
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


class Attention(nn.Module):
    def __init__(self, cfg, rotary=False):
        super().__init__()
        # Rotary positions (self-attention of positional_encoding = "rotary"):
        # queries and keys rotated at positions 0 .. s-1.
        self.rope = (cfg.get("rotary_base", 10000.0), cfg.get("rotary_dim")) if rotary else None
        d, bias = cfg["d_model"], cfg["attention_bias"]
        self.h = cfg["num_heads"]
        # Grouped-query attention: each key/value head serves h / kv query heads.
        self.kv = cfg.get("num_kv_heads", self.h)
        dkv = d // self.h * self.kv
        self.q_proj = nn.Linear(d, d, bias)
        self.k_proj = nn.Linear(d, dkv, bias)
        self.v_proj = nn.Linear(d, dkv, bias)
        self.o_proj = nn.Linear(d, d, bias)

    def forward(self, xq, xkv, mask=None, return_probs=False):
        b, sq, d = xq.shape
        sk, dh = xkv.shape[1], d // self.h
        split = lambda t, s, h: t.view(b, s, h, dh).transpose(1, 2)
        q = split(self.q_proj(xq), sq, self.h)
        k = split(self.k_proj(xkv), sk, self.kv)
        v = split(self.v_proj(xkv), sk, self.kv)
        if self.rope:
            rope = lambda t: rotary(t.transpose(1, 2), 0, *self.rope).transpose(1, 2)
            q, k = rope(q), rope(k)
        if self.kv != self.h:
            k = k.repeat_interleave(self.h // self.kv, dim=1)
            v = v.repeat_interleave(self.h // self.kv, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        if mask is not None:
            scores = scores + mask
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, sq, d)
        out = self.o_proj(out)
        return (out, probs) if return_probs else out


class FFN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc1 = nn.Linear(cfg["d_model"], cfg["d_ff"], cfg["ffn_bias"])
        if cfg["ffn"] == "gated":
            self.gate = nn.Linear(cfg["d_model"], cfg["d_ff"], cfg["ffn_bias"])
        self.fc2 = nn.Linear(cfg["d_ff"], cfg["d_model"], cfg["ffn_bias"])
        self.act = cfg["activation"]

    def forward(self, x):
        # Gated (GLU variants): fc2(act(gate x) * fc1 x); plain: fc2(act(fc1 x)).
        h = self.gate(x) if hasattr(self, "gate") else self.fc1(x)
        if self.act == "relu":
            h = F.relu(h)
        elif self.act == "gelu":
            h = F.gelu(h)
        elif self.act == "gelu_tanh":
            h = F.gelu(h, approximate="tanh")
        elif self.act == "silu":
            h = F.silu(h)
        if hasattr(self, "gate"):
            h = h * self.fc1(x)
        return self.fc2(h)


class MoE(nn.Module):
    """A mixture of gated experts as Hugging Face's Mixtral computes it: a
    router linear, a softmax over the experts, the top_k (then renormalised
    for routing topk_softmax), each expert on its rows, index_add_ in
    expert order."""

    def __init__(self, cfg):
        super().__init__()
        m = cfg["moe"]
        self.top_k = m.get("top_k", 2)
        self.renormalise = m.get("routing", "topk_softmax") == "topk_softmax"
        self.router = nn.Linear(cfg["d_model"], m["experts"], False)
        self.experts = nn.ModuleList(FFN(cfg) for _ in range(m["experts"]))

    def forward(self, x):
        d = x.shape[-1]
        xs = x.reshape(-1, d)
        p = torch.softmax(self.router(xs), -1)
        w, sel = torch.topk(p, self.top_k, dim=-1)
        if self.renormalise:
            w = w / w.sum(-1, keepdim=True)
        out = torch.zeros_like(xs)
        for e, expert in enumerate(self.experts):
            rank, rows = torch.where(sel.t() == e)
            if rows.numel():
                out.index_add_(0, rows, expert(xs[rows]) * w[rows, rank, None])
        return out.reshape(x.shape)


class Layer(nn.Module):
    def __init__(self, cfg, cross):
        super().__init__()
        self.pre = cfg["norm_placement"] == "pre"
        self.self_attn = Attention(cfg, rotary=cfg["positional_encoding"] == "rotary")
        self.self_attn_norm = Norm(cfg)
        if cross:
            self.cross_attn = Attention(cfg)
            self.cross_attn_norm = Norm(cfg)
        if "moe" in cfg:
            self.moe = MoE(cfg)
        else:
            self.ffn = FFN(cfg)
        self.ffn_norm = Norm(cfg)

    def _sub(self, x, norm, f):
        if self.pre:
            return x + f(norm(x))
        return norm(x + f(x))

    def forward(self, x, self_mask=None, memory=None, memory_mask=None):
        x = self._sub(x, self.self_attn_norm, lambda h: self.self_attn(h, h, self_mask))
        if memory is not None:
            x = self._sub(x, self.cross_attn_norm,
                          lambda h: self.cross_attn(h, memory, memory_mask))
        return self._sub(x, self.ffn_norm, self.moe if hasattr(self, "moe") else self.ffn)


class Stack(nn.Module):
    """Embeddings + layers (+ final norm) of one stack."""

    def __init__(self, cfg, layers, cross, embed_tokens=None):
        super().__init__()
        d = cfg["d_model"]
        self.cfg = cfg
        if embed_tokens is None:
            self.embed_tokens = nn.Embedding(cfg["vocab_size"], d)
        else:
            self._shared = [embed_tokens]  # not registered twice
        if cfg["positional_encoding"] == "learned":
            self.embed_positions = nn.Embedding(cfg["max_seq_len"], d)
        if cfg["type_vocab_size"] > 0:
            self.embed_token_types = nn.Embedding(cfg["type_vocab_size"], d)
        if cfg["embedding_norm"]:
            self.embed_norm = Norm(cfg)
        self.layers = nn.ModuleList(Layer(cfg, cross) for _ in range(layers))
        if cfg.get("final_norm", cfg["norm_placement"] == "pre"):
            self.final_norm = Norm(cfg)

    def tokens(self):
        return self.embed_tokens if hasattr(self, "embed_tokens") else self._shared[0]

    def embed(self, ids, token_types=None, offset=0):
        cfg, s = self.cfg, ids.shape[1]
        x = self.tokens()(ids)
        if cfg["embedding_scale"]:
            x = x * math.sqrt(cfg["d_model"])
        if token_types is not None:
            x = x + self.embed_token_types(token_types)
        if cfg["positional_encoding"] == "sinusoidal":
            x = x + sinusoidal(s, cfg["d_model"], offset)
        elif cfg["positional_encoding"] == "learned":
            x = x + self.embed_positions.weight[offset:offset + s]
        if cfg["embedding_norm"]:
            x = self.embed_norm(x)
        return x

    def run(self, x, self_mask=None, memory=None, memory_mask=None):
        for layer in self.layers:
            x = layer(x, self_mask, memory, memory_mask)
        if hasattr(self, "final_norm"):
            x = self.final_norm(x)
        return x


def causal_mask(sq, sk, offset=0):
    i = torch.arange(sq)[:, None] + offset
    j = torch.arange(sk)[None, :]
    return torch.where(j > i, torch.tensor(NEG), torch.tensor(0.0))


def padding_mask(attention_mask):
    return torch.where(attention_mask[:, None, None, :] == 0,
                       torch.tensor(NEG), torch.tensor(0.0))


class RefModel(nn.Module):
    """The model a tfmc TOML file describes, with canonical parameter names."""

    def __init__(self, cfg):
        super().__init__()
        cfg = dict(DEFAULTS, **cfg)
        self.cfg = cfg
        fam = cfg["family"]
        if fam == "encoder-decoder":
            if cfg["shared_embeddings"]:
                self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
                shared = self.embed_tokens
            else:
                shared = None
            self.encoder = Stack(cfg, cfg["encoder_layers"], False, shared)
            self.decoder = Stack(cfg, cfg["decoder_layers"], True, shared)
        elif fam == "encoder":
            self.stack = Stack(cfg, cfg["encoder_layers"], False)
        else:
            self.stack = Stack(cfg, cfg["decoder_layers"], False)
        if fam != "encoder" and not cfg["tie_embeddings"]:
            self.lm_head = nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False)

    def _head(self, x, stack):
        w = stack.tokens().weight if self.cfg["tie_embeddings"] else self.lm_head.weight
        return x @ w.t()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        """Encoder: last_hidden_state. Decoder: logits."""
        st = self.stack
        x = st.embed(input_ids, token_type_ids)
        s = input_ids.shape[1]
        mask = padding_mask(attention_mask) if attention_mask is not None else None
        if self.cfg["family"] == "decoder":
            cm = causal_mask(s, s)
            mask = cm if mask is None else mask + cm
        x = st.run(x, mask)
        return x if self.cfg["family"] == "encoder" else self._head(x, st)

    def encode(self, input_ids, attention_mask=None):
        mask = padding_mask(attention_mask) if attention_mask is not None else None
        return self.encoder.run(self.encoder.embed(input_ids), mask)

    def decode(self, decoder_input_ids, encoder_hidden_states, attention_mask=None):
        t = decoder_input_ids.shape[1]
        memory_mask = padding_mask(attention_mask) if attention_mask is not None else None
        y = self.decoder.embed(decoder_input_ids)
        y = self.decoder.run(y, causal_mask(t, t), encoder_hidden_states, memory_mask)
        return self._head(y, self.decoder)

    def named_weights(self):
        """{canonical name: numpy array}, tied/shared tensors once."""
        out = {}
        for name, p in self.named_parameters():
            if name.startswith("stack."):
                name = name[len("stack."):]
            out[name] = p.detach().numpy()
        return out


def save_char_model(out, model, cfg, chars, header):
    """Writes a trained character-level model as a tfmc model directory:
    model.safetensors, chars.json (entry i = token i) and model.toml."""
    os.makedirs(out, exist_ok=True)
    save_safetensors(os.path.join(out, "model.safetensors"), model.named_weights())
    with open(os.path.join(out, "chars.json"), "w") as f:
        json.dump(chars, f, indent=0)
    write_toml(os.path.join(out, "model.toml"), cfg, weights_file="model.safetensors",
               header=header, tokenizer="char")


def load_model_file(toml_path):
    """The RefModel of a tfmc TOML model file with a safetensors weights
    file (eval mode), and the file's parsed tables."""
    import tomllib
    from safetensors.numpy import load_file
    with open(toml_path, "rb") as f:
        doc = tomllib.load(f)
    cfg = dict(doc["model"])
    for stack in ("encoder", "decoder"):
        if stack in doc:
            cfg[stack + "_layers"] = doc[stack]["layers"]
    model = RefModel(cfg).eval()
    weights = load_file(os.path.join(os.path.dirname(toml_path), doc["weights"]["file"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            canonical = name[len("stack."):] if name.startswith("stack.") else name
            p.copy_(torch.from_numpy(weights[canonical]))
    return model, doc


def family_configs():
    """Small odd-sized configurations of the three families (d_model 96 with
    3 heads, vocab 1000), as used by the tests."""
    base = dict(vocab_size=1000, d_model=96, num_heads=3, d_ff=200, max_seq_len=64)
    return {
        "encoder": dict(base, family="encoder", encoder_layers=2, activation="gelu",
                        positional_encoding="learned", type_vocab_size=2,
                        embedding_norm=True, padding_mask=True, norm_eps=1e-12),
        "decoder": dict(base, family="decoder", decoder_layers=2, norm_placement="pre",
                        activation="gelu_tanh", positional_encoding="learned",
                        tie_embeddings=True),
        "encoder-decoder": dict(base, family="encoder-decoder", encoder_layers=2,
                                decoder_layers=2, activation="relu",
                                positional_encoding="sinusoidal", embedding_scale=True,
                                padding_mask=True),
        "decoder-rms-silu": dict(base, family="decoder", decoder_layers=2,
                                 norm="rmsnorm", norm_placement="pre", activation="silu",
                                 positional_encoding="none", attention_bias=False,
                                 ffn_bias=False, tie_embeddings=False, norm_eps=1e-6),
        # Llama-shaped blocks: grouped-query attention (6 query heads share
        # 2 key/value heads of 16), a gated SiLU FFN, pre-RMSNorm.
        "decoder-gqa-gated": dict(base, family="decoder", decoder_layers=2,
                                  num_heads=6, num_kv_heads=2, ffn="gated",
                                  norm="rmsnorm", norm_placement="pre",
                                  activation="silu", positional_encoding="learned",
                                  attention_bias=False, ffn_bias=False,
                                  tie_embeddings=False, norm_eps=1e-6),
        # A Llama-style decoder: rotary positions on 12 of each head's 16
        # features (as Phi's partial rotary), theta 500000 (Llama 3), 6 query
        # heads over 2 key/value heads, gated SiLU FFN, pre-RMSNorm, untied head.
        # decoder-llama's blocks with a mixture of 5 gated experts (2 per
        # token, Mixtral's renormalised routing) in every layer, and a
        # variant with 3 of 6 experts by softmax-then-top-k weights.
        "decoder-moe": dict(base, family="decoder", decoder_layers=2,
                            num_heads=6, num_kv_heads=2, ffn="gated",
                            norm="rmsnorm", norm_placement="pre",
                            activation="silu", positional_encoding="rotary",
                            attention_bias=False, ffn_bias=False,
                            tie_embeddings=False, norm_eps=1e-6,
                            moe=dict(experts=5, top_k=2)),
        "decoder-moe-top3": dict(base, family="decoder", decoder_layers=2,
                                 ffn="gated", norm="rmsnorm", norm_placement="pre",
                                 activation="gelu", positional_encoding="learned",
                                 ffn_bias=False, d_ff=72,
                                 moe=dict(experts=6, top_k=3, routing="softmax_topk")),
        "decoder-llama": dict(base, family="decoder", decoder_layers=2,
                              num_heads=6, num_kv_heads=2, ffn="gated",
                              norm="rmsnorm", norm_placement="pre",
                              activation="silu", positional_encoding="rotary",
                              rotary_base=500000.0, rotary_dim=12,
                              attention_bias=False, ffn_bias=False,
                              tie_embeddings=False, norm_eps=1e-6),
    }


def make_model(cfg, seed=0):
    """A RefModel with random (not default-initialised) parameters, so that
    norms and biases are exercised too."""
    torch.manual_seed(seed)
    m = RefModel(cfg).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.05 * torch.randn_like(p))
    return m


def venv_bin(tool):
    return os.path.join(os.environ.get("TFMC_BIN", ""), tool)
