"""Mixture of experts: tfm.moe_gate (softmax over the experts, top-k,
renormalised or not) and tfm.moe (only the selected experts, rows grouped
per expert) against the Hugging Face Mixtral computation in PyTorch: odd
sizes, experts no row selects, one-row (decode) inputs, K split into
blocks, expert stacks assembled from per-expert parts, and ties."""
import numpy as np
import torch
import torch.nn.functional as F

from harness import check, randn, rng, ty

ACTS = {"silu": F.silu, "gelu": F.gelu, "relu": F.relu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh")}


def routing(logits, k, mode):
    """Dense routing weights as Mixtral computes them (softmax, topk,
    renormalise) or without the renormalisation."""
    p = torch.softmax(logits, -1)
    vals, idx = torch.topk(p, k, dim=-1)
    if mode == "topk_softmax":
        vals = vals / vals.sum(-1, keepdim=True)
    return torch.zeros_like(p).scatter(-1, idx, vals)


def experts(x, w, gu, dn, act):
    """Mixtral's sparse block: per expert, its rows, index_add_ in order."""
    d = x.shape[-1]
    xs, ws = x.reshape(-1, d), w.reshape(-1, w.shape[-1])
    out = torch.zeros_like(xs)
    f = dn.shape[2]
    for e in range(gu.shape[0]):
        rows = torch.nonzero(ws[:, e] != 0).flatten()
        if rows.numel() == 0:
            continue
        h = xs[rows]
        y = F.linear(ACTS[act](F.linear(h, gu[e, :f])) * F.linear(h, gu[e, f:]), dn[e])
        out.index_add_(0, rows, y * ws[rows, e, None])
    return out.reshape(x.shape)


def margins(logits, k):
    """Pushes the k-th and (k+1)-th probabilities apart (no near-ties)."""
    s = np.sort(logits, -1)
    assert np.all(np.abs(s[..., -k] - s[..., -k - 1]) > 1e-4)
    return logits


# tfm.moe_gate alone.
for k, mode in [(2, "topk_softmax"), (1, "softmax_topk"), (3, "softmax_topk"),
                (3, "topk_softmax")]:
    L = margins(randn(2, 37, 8, scale=2.0), k)
    T = ty(L.shape)
    mlir = f"""func.func @main(%l: {T}) -> {T} {{
  %w = tfm.moe_gate %l top_k {k} routing {mode} : {T}
  return %w : {T}
}}
"""
    check(f"moe_gate_k{k}_{mode}", mlir, [L], None,
          lambda l, W, k=k, mode=mode: routing(l, k, mode))

# Ties: the lower expert index wins (torch.topk's order among equal values
# is unspecified: for [1, 3, 3, 3, 0, 3] it returns experts 3 and 5).
L = np.array([[[1, 3, 3, 3, 0, 3], [0, 0, 0, 0, 0, 0], [5, 1, 5, 1, 5, 1]]],
             np.float32)
T = ty(L.shape)
mlir = f"""func.func @main(%l: {T}) -> {T} {{
  %w = tfm.moe_gate %l top_k 2 routing topk_softmax : {T}
  return %w : {T}
}}
"""
tie = np.zeros_like(L)
tie[0, 0, [1, 2]] = 0.5
tie[0, 1, [0, 1]] = 0.5
tie[0, 2, [0, 2]] = 0.5
check("moe_gate_ties", mlir, [L], None, lambda l, W: torch.from_numpy(tie))


def moe_case(name, shape, e, f, k, act, mode="topk_softmax", args=(),
             stacked=False, dead=()):
    """Router linear, gate, experts; `dead` experts get very low logits."""
    d = shape[-1]
    x = randn(*shape)
    W = {"router": randn(e, d, scale=0.3)}
    bias = np.zeros(e, np.float32)
    bias[list(dead)] = -1e4
    W["rbias"] = bias
    gu, dn = randn(e, 2 * f, d, scale=0.2), randn(e, d, f, scale=0.2)
    if stacked:
        for i in range(e):
            W[f"w1.{i}"], W[f"w3.{i}"], W[f"w2.{i}"] = gu[i, :f], gu[i, f:], dn[i]
        parts = ", ".join(f'"w1.{i}", "w3.{i}"' for i in range(e))
        gu_decl = f'tfm.weight "gate_up" concat [{parts}] axis 0'
        dparts = ", ".join(f'"w2.{i}"' for i in range(e))
        dn_decl = f'tfm.weight "down" concat [{dparts}] axis 0'
    else:
        W["gate_up"], W["down"] = gu, dn
        gu_decl, dn_decl = 'tfm.weight "gate_up"', 'tfm.weight "down"'
    X, G = ty(shape), ty(shape[:-1] + (e,))
    GU, DN = ty((e, 2 * f, d)), ty((e, d, f))
    mlir = f"""func.func @main(%x: {X}) -> ({X}, {G}) {{
  %r = tfm.weight "router" : {ty((e, d))}
  %rb = tfm.weight "rbias" : {ty((e,))}
  %gu = {gu_decl} : {GU}
  %dn = {dn_decl} : {DN}
  %l = tfm.linear %x, %r bias %rb : ({X}, {ty((e, d))}, {ty((e,))}) -> {G}
  %w = tfm.moe_gate %l top_k {k} routing {mode} : {G}
  %y = tfm.moe %x, %w, %gu, %dn top_k {k} act {act} : ({X}, {G}, {GU}, {DN}) -> {X}
  return %y, %w : {X}, {G}
}}
"""

    def ref(x, W):
        logits = F.linear(x, W["router"], W["rbias"])
        w = routing(logits, k, mode)
        if stacked:
            g = torch.stack([torch.cat([W[f"w1.{i}"], W[f"w3.{i}"]]) for i in range(e)])
            dd = torch.stack([W[f"w2.{i}"] for i in range(e)])
        else:
            g, dd = W["gate_up"], W["down"]
        return experts(x, w, g, dd, act), w
    check(name, mlir, [x], W, ref, args=args)


moe_case("moe_mixtral_like", (2, 37, 72), 8, 52, 2, "silu")
moe_case("moe_decode_row", (1, 1, 72), 8, 52, 2, "silu")
moe_case("moe_top1_dead_experts", (1, 23, 40), 5, 36, 1, "gelu", "softmax_topk",
         dead=(1, 3))
moe_case("moe_top3_relu", (3, 7, 24), 6, 20, 3, "relu")
moe_case("moe_stacked_parts", (1, 11, 33), 4, 17, 2, "gelu_tanh", stacked=True)
moe_case("moe_kblocks", (1, 19, 100), 4, 90, 2, "silu", args=["--gemm-kc=24"])
moe_case("moe_kblocks_decode", (1, 1, 100), 4, 90, 2, "silu", args=["--gemm-kc=24"])
print("OK")
