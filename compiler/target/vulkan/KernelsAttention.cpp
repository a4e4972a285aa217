//===- KernelsAttention.cpp - tfm.attention as flash-style kernels --------===//
//
// Part of tfmc. softmax(Q K^T * scale + mask) V without materialising the
// scores (O(seq) memory):
//  * prefill/encoder: a workgroup per (block of BQ queries, head, batch),
//    one query row per invocation with its running max, sum and output in
//    registers; BK keys and values at a time staged in shared memory; causal
//    blocks past the last query of the workgroup are skipped;
//  * decode (one query, long cache): split-K. Workgroups take chunks of keys
//    and write a partial (max, sum, output); a second kernel combines them.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

namespace {
/// Addressing of a [B, H, S, D] operand: element (b, h, s, d).
struct Heads {
  View view;
  Sym sb, sh, ss, sd;
  /// Query heads per stored head (grouped-query attention: K and V, whose
  /// head h / groups serves query head h).
  int64_t groups = 1;
  std::string at(KernelWriter &w, const std::string &b, const std::string &hq,
                 const std::string &s, const std::string &d) const {
    std::string h =
        groups > 1 ? "(" + hq + ") / " + std::to_string(groups) : hq;
    auto term = [](const std::string &c, const Sym &stride) {
      if (stride.isConst(0))
        return std::string("0");
      std::string t = "(" + c + ")";
      return stride.isConst(1) ? t : t + " * " + stride.glsl();
    };
    return w.at(view, term(b, sb) + " + " + term(h, sh) + " + " + term(s, ss) +
                          " + " + term(d, sd));
  }
};
} // namespace

static Heads headsOf(Planner &p, const View &v, bool explicitHeads,
                     int64_t headDim) {
  if (explicitHeads)
    return {v, v.strides[0], v.strides[1], v.strides[2], v.strides[3]};
  return {v, v.strides[0], p.S().mul(Sym::c(headDim), v.strides[2]),
          v.strides[1], v.strides[2]};
}

LogicalResult Planner::genAttention(AttentionOp op) {
  FailureOr<View> qv = view(op.getQuery()), kv = view(op.getKey()),
                  vv = view(op.getValue());
  if (failed(qv) || failed(kv) || failed(vv))
    return failure();
  bool explicitHeads = op.hasExplicitHeads();
  int64_t H = op.getNumHeads();
  int64_t D = op.getHeadDim();
  auto vt = cast<RankedTensorType>(op.getValue().getType());
  int64_t G = H / op.getKVHeads();
  int64_t Dv =
      explicitHeads ? vt.getDimSize(3) : vt.getDimSize(2) / op.getKVHeads();
  int64_t seqAxis = explicitHeads ? 2 : 1;
  Sym B = qv->dims[0], Sq = qv->dims[seqAxis], Sk = kv->dims[seqAxis];
  Sym offset = Sym::c(0);
  if (Value o = op.getOffset()) {
    FailureOr<Sym> s = index(o);
    if (failed(s))
      return failure();
    offset = *s;
  }
  Heads q = headsOf(*this, *qv, explicitHeads, D);
  Heads k = headsOf(*this, *kv, explicitHeads, D);
  Heads v = headsOf(*this, *vv, explicitHeads, Dv);
  k.groups = v.groups = G;
  llvm::SmallVector<Sym, 4> outDims =
      explicitHeads ? llvm::SmallVector<Sym, 4>{B, Sym::c(H), Sq, Sym::c(Dv)}
                    : llvm::SmallVector<Sym, 4>{B, Sq, Sym::c(H * Dv)};
  View outView = result(op.getResult(), outDims);
  Heads out = headsOf(*this, outView, explicitHeads, Dv);
  bool hasMask = false;
  Heads mask; // (b, h, q, k) with k as the "d" coordinate
  if (Value m = op.getMask()) {
    FailureOr<View> mv = view(m);
    if (failed(mv))
      return failure();
    View bm = broadcastTo(*mv, {B, Sym::c(H), Sq, Sk});
    mask = {bm, bm.strides[0], bm.strides[1], bm.strides[2], bm.strides[3]};
    hasMask = true;
  }
  bool causal = op.getCausal();
  int64_t window = op.getWindow().value_or(0);
  std::string scale = floatLiteral(op.getScale().convertToDouble());
  std::string negInf = "uintBitsToFloat(0xff800000u)";
  // Keys a query may see: all of them, or up to its position (causal);
  // with a sliding window, the decode query's last `window` positions.
  Sym kEndAll = causal ? S().min(Sk, S().add(Sq, offset)) : Sk;
  Sym kBeginDecode =
      window ? S().max(Sym::c(0),
                       S().sub(S().add(offset, Sym::c(1)), Sym::c(window)))
             : Sym::c(0);

  if (Sq.isConst(1)) {
    // Decode: split the keys across workgroups.
    unsigned CH = target.decodeChunk, T = target.decodeThreads;
    int64_t maxChunks = (S().upper(Sk) + CH - 1) / CH;
    Sym chunks = S().ceilDiv(S().sub(kEndAll, kBeginDecode), Sym::c(CH));
    View part = scratch({B, Sym::c(H), Sym::c(maxChunks), Sym::c(Dv + 2)});
    {
      KernelWriter w(entry, "attention_decode", T);
      std::ostream &b = w.body;
      w.helpers += "shared float qs[" + std::to_string(D) +
                   "];\nshared float ps[" + std::to_string(CH) +
                   "];\nshared float red[" + std::to_string(T) + "];\n";
      b << "  int c = int(gl_WorkGroupID.x), h = int(gl_WorkGroupID.y), bb = "
           "int(gl_WorkGroupID.z);\n"
        << "  int t = int(gl_LocalInvocationID.x);\n"
        << "  int kEnd = " << kEndAll.glsl() << ";\n"
        << "  int j0 = " << kBeginDecode.glsl() << " + c * " << CH
        << ", jn = min(" << CH << ", kEnd - j0);\n"
        << "  for (int d = t; d < " << D << "; d += " << T
        << ") qs[d] = " << q.at(w, "bb", "h", "0", "d") << " * " << scale
        << ";\n"
        << "  barrier();\n"
        << "  float mloc = " << negInf << ";\n"
        << "  for (int jj = t; jj < jn; jj += " << T << ") {\n"
        << "    int j = j0 + jj;\n    float s = 0.0;\n"
        << "    for (int d = 0; d < " << D << "; ++d) s = fma(qs[d], "
        << k.at(w, "bb", "h", "j", "d") << ", s);\n";
      if (hasMask)
        b << "    s += " << mask.at(w, "bb", "h", "0", "j") << ";\n";
      b << "    ps[jj] = s;\n    mloc = max(mloc, s);\n  }\n"
        << "  red[t] = mloc;\n  barrier();\n"
        << "  for (int st = " << T / 2 << "; st > 0; st >>= 1) {\n"
        << "    if (t < st) red[t] = max(red[t], red[t + st]);\n"
        << "    barrier();\n  }\n"
        << "  float mc = red[0];\n  barrier();\n"
        << "  float lsum = 0.0;\n"
        << "  for (int jj = t; jj < jn; jj += " << T << ") {\n"
        << "    float p = exp(ps[jj] - mc);\n    ps[jj] = p;\n    lsum += p;\n"
        << "  }\n"
        << "  red[t] = lsum;\n  barrier();\n"
        << "  for (int st = " << T / 2 << "; st > 0; st >>= 1) {\n"
        << "    if (t < st) red[t] += red[t + st];\n"
        << "    barrier();\n  }\n"
        << "  int pbase = ((bb * " << H << " + h) * " << maxChunks << " + c) * "
        << Dv + 2 << ";\n"
        << "  for (int d = t; d < " << Dv << "; d += " << T << ") {\n"
        << "    float acc = 0.0;\n"
        << "    for (int jj = 0; jj < jn; ++jj) acc = fma(ps[jj], "
        << v.at(w, "bb", "h", "j0 + jj", "d") << ", acc);\n"
        << "    " << w.at(part, "pbase + 2 + d") << " = acc;\n  }\n"
        << "  if (t == 0) {\n"
        << "    " << w.at(part, "pbase") << " = mc;\n"
        << "    " << w.at(part, "pbase + 1") << " = red[0];\n  }\n";
      dispatch(w, chunks, Sym::c(H), B);
    }
    {
      KernelWriter w(entry, "attention_combine", T);
      std::ostream &b = w.body;
      b << "  int h = int(gl_WorkGroupID.y), bb = int(gl_WorkGroupID.z);\n"
        << "  int t = int(gl_LocalInvocationID.x);\n"
        << "  int nc = " << chunks.glsl() << ";\n"
        << "  int base = (bb * " << H << " + h) * " << maxChunks << " * "
        << Dv + 2 << ";\n"
        << "  float m = " << negInf << ";\n"
        << "  for (int c = 0; c < nc; ++c) m = max(m, "
        << w.at(part, "base + c * " + std::to_string(Dv + 2)) << ");\n"
        << "  float l = 0.0;\n"
        << "  for (int c = 0; c < nc; ++c) l += exp("
        << w.at(part, "base + c * " + std::to_string(Dv + 2)) << " - m) * "
        << w.at(part, "base + c * " + std::to_string(Dv + 2) + " + 1") << ";\n"
        << "  for (int d = t; d < " << Dv << "; d += " << T << ") {\n"
        << "    float acc = 0.0;\n"
        << "    for (int c = 0; c < nc; ++c) acc += exp("
        << w.at(part, "base + c * " + std::to_string(Dv + 2)) << " - m) * "
        << w.at(part, "base + c * " + std::to_string(Dv + 2) + " + 2 + d")
        << ";\n"
        << "    " << out.at(w, "bb", "h", "0", "d") << " = acc / l;\n  }\n";
      dispatch(w, Sym::c(1), Sym::c(H), B);
    }
    bind(op.getResult(), outView);
    return success();
  }

  // Prefill / encoder: flash attention, one query per invocation.
  unsigned BQ = target.attnBQ, BK = target.attnBK;
  while (BK > 8 && (BK * (D + Dv)) * 4 > target.maxSharedBytes)
    BK /= 2;
  KernelWriter w(entry, "attention", BQ);
  std::ostream &b = w.body;
  w.helpers += "shared float Ks[" + std::to_string(BK) + "][" +
               std::to_string(D) + "];\nshared float Vs[" + std::to_string(BK) +
               "][" + std::to_string(Dv) + "];\n";
  b << "  int h = int(gl_WorkGroupID.y), bb = int(gl_WorkGroupID.z);\n"
    << "  int t = int(gl_LocalInvocationID.x);\n"
    << "  int Sq = " << Sq.glsl() << ", Sk = " << Sk.glsl()
    << ", off = " << offset.glsl() << ";\n"
    << "  int q0 = int(gl_WorkGroupID.x) * " << BQ << ", qi = q0 + t;\n"
    << "  bool live = qi < Sq;\n"
    << "  float qr[" << D << "], o[" << Dv << "];\n"
    << "  float m = " << negInf << ", l = 0.0;\n"
    << "  for (int d = 0; d < " << Dv << "; ++d) o[d] = 0.0;\n"
    << "  for (int d = 0; d < " << D << "; ++d) qr[d] = live ? "
    << q.at(w, "bb", "h", "qi", "d") << " * " << scale << " : 0.0;\n"
    << "  int kEnd = Sk, kBegin = 0;\n";
  if (causal)
    b << "  kEnd = min(Sk, min(q0 + " << BQ << ", Sq) + off);\n";
  if (window)
    b << "  kBegin = max(0, q0 + off + 1 - " << window << ");\n";
  b << "  for (int k0 = kBegin; k0 < kEnd; k0 += " << BK << ") {\n"
    << "    for (int i = t; i < " << BK * D << "; i += " << BQ << ") {\n"
    << "      int kk = i / " << D << ", d = i % " << D << ", j = k0 + kk;\n"
    << "      Ks[kk][d] = j < Sk ? " << k.at(w, "bb", "h", "j", "d")
    << " : 0.0;\n    }\n"
    << "    for (int i = t; i < " << BK * Dv << "; i += " << BQ << ") {\n"
    << "      int kk = i / " << Dv << ", d = i % " << Dv << ", j = k0 + kk;\n"
    << "      Vs[kk][d] = j < Sk ? " << v.at(w, "bb", "h", "j", "d")
    << " : 0.0;\n    }\n"
    << "    barrier();\n"
    << "    if (live) {\n"
    << "      float s[" << BK << "];\n"
    << "      float mb = m;\n"
    << "      for (int kk = 0; kk < " << BK << "; ++kk) {\n"
    << "        int j = k0 + kk;\n"
    << "        s[kk] = " << negInf << ";\n"
    << "        if (j < Sk" << (causal ? " && j <= qi + off" : "")
    << (window ? " && j > qi + off - " + std::to_string(window) : "") << ") {\n"
    << "          float x = 0.0;\n"
    << "          for (int d = 0; d < " << D
    << "; ++d) x = fma(qr[d], Ks[kk][d], x);\n";
  if (hasMask)
    b << "          x += " << mask.at(w, "bb", "h", "qi", "j") << ";\n";
  b << "          s[kk] = x;\n"
    << "          mb = max(mb, x);\n"
    << "        }\n"
    << "      }\n"
    << "      if (mb != " << negInf << ") {\n"
    << "        float corr = m == " << negInf << " ? 0.0 : exp(m - mb);\n"
    << "        l *= corr;\n"
    << "        for (int d = 0; d < " << Dv << "; ++d) o[d] *= corr;\n"
    << "        for (int kk = 0; kk < " << BK << "; ++kk) {\n"
    << "          if (s[kk] == " << negInf << ") continue;\n"
    << "          float p = exp(s[kk] - mb);\n"
    << "          l += p;\n"
    << "          for (int d = 0; d < " << Dv
    << "; ++d) o[d] = fma(p, Vs[kk][d], o[d]);\n"
    << "        }\n"
    << "        m = mb;\n"
    << "      }\n"
    << "    }\n"
    << "    barrier();\n"
    << "  }\n"
    << "  if (live)\n"
    << "    for (int d = 0; d < " << Dv << "; ++d) "
    << out.at(w, "bb", "h", "qi", "d") << " = o[d] / l;\n";
  dispatch(w, S().ceilDiv(Sq, Sym::c(BQ)), Sym::c(H), B);
  bind(op.getResult(), outView);
  return success();
}
