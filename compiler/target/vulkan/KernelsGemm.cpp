//===- KernelsGemm.cpp - tfm.linear / tfm.matmul as a tiled GEMM kernel ---===//
//
// Part of tfmc. C[b, m, n] = sum_k A[b, m, k] B[b, k, n] (+ bias, then the
// fused epilogue printed from the op's region). A workgroup computes a
// BM x BN tile of C; each invocation a TM x TN block of it; K advances in
// steps of BK with both operand tiles staged in shared memory. Weights of
// tfm.linear are packed at compile time into BN-wide panels ([N/BN][K][BN],
// zero padded), so a B tile row is BN consecutive floats. A gated linear's
// panels are 2*BN wide, BN gate features then the BN matching up features
// (gated_panels): each invocation accumulates both and the epilogue
// combines them.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

namespace {
/// A view flattened to [batch, rows, cols] strides. Batch dims that do not
/// merge into one stride (a broadcast one among them: grouped-query
/// attention's [B, Hkv, 1, S, D] against [B, Hkv, G, S, D]) are addressed
/// by decomposing the batch index: `batchAt` is then that sum.
struct Flat {
  View view;
  Sym sb, sr, sc;
  std::string batchAt; ///< empty: bz * sb

  std::string batchOffset() const {
    return batchAt.empty() ? " + bz * " + sb.glsl() : batchAt;
  }
};
} // namespace

/// The stride of dims [from, to) merged into one, if they merge (each outer
/// stride is the inner stride times the inner size; size-1 dims ignored).
static std::optional<Sym> mergedStride(Planner &p, const View &v, int64_t from,
                                       int64_t to) {
  std::optional<Sym> inner;
  Sym innerSize = Sym::c(1);
  for (int64_t d = to - 1; d >= from; --d) {
    if (v.dims[d].isConst(1))
      continue;
    if (!inner) {
      inner = v.strides[d];
      innerSize = v.dims[d];
      continue;
    }
    Sym want = p.S().mul(*inner, innerSize);
    if (!(v.strides[d] == want) &&
        !(inner->isConst(0) && v.strides[d].isConst(0)))
      return std::nullopt;
    if (!inner->isConst(0))
      innerSize = p.S().mul(innerSize, v.dims[d]);
  }
  return inner ? *inner : Sym::c(0);
}

/// `v` ([batch..., rows, cols]: the last two dims are rows and cols, the
/// `batchDims` before them are merged, or decomposed when they do not
/// merge) as a Flat.
static Flat flatten(Planner &p, View v, int64_t batchDims, bool rowsMerged) {
  // rowsMerged: all dims before the last are rows (tfm.linear's input).
  int64_t r = v.rank();
  auto attempt = [&](const View &x) -> std::optional<Flat> {
    Flat f{x, Sym::c(0), Sym::c(0), x.strides[r - 1], {}};
    if (rowsMerged) {
      std::optional<Sym> rows = mergedStride(p, x, 0, r - 1);
      if (!rows)
        return std::nullopt;
      f.sr = *rows;
      return f;
    }
    f.sr = x.strides[r - 2];
    if (std::optional<Sym> b = mergedStride(p, x, r - 2 - batchDims, r - 2)) {
      f.sb = *b;
      return f;
    }
    // bz = row-major index over the batch dims: digit d is
    // (bz / inner) % dims[d].
    Sym inner = Sym::c(1);
    for (int64_t d = r - 3; d >= r - 2 - batchDims; --d) {
      if (!x.dims[d].isConst(1) && !x.strides[d].isConst(0))
        f.batchAt += " + ((bz / " + inner.glsl() + ") % " + x.dims[d].glsl() +
                     ") * " + x.strides[d].glsl();
      inner = p.S().mul(inner, x.dims[d]);
    }
    return f;
  };
  if (std::optional<Flat> f = attempt(v))
    return *f;
  // Rows that do not merge: the plan promised they would (LayoutNeed::Rows);
  // contiguous() reports the broken promise, and the kernel is not emitted.
  View c = p.contiguous(v);
  if (std::optional<Flat> f = attempt(c))
    return *f;
  return Flat{c, Sym::c(0), Sym::c(0), Sym::c(0), {}};
}

LogicalResult Planner::genGemm(Operation *op) {
  auto linear = dyn_cast<LinearOp>(op);
  auto matmul = dyn_cast<MatmulOp>(op);
  FailureOr<View> lhsV = view(op->getOperand(0));
  if (failed(lhsV))
    return failure();
  View lhs = *lhsV;
  llvm::SmallVector<Sym, 4> outDims;
  Sym M, N, K, batch = Sym::c(1);
  Flat a, bflat;
  bool panels = false;
  View bias;
  bool hasBias = false;
  llvm::SmallVector<Flat, 2> extras;
  unsigned BN = target.gemmBN;
  bool gated = linear && linear.getGated();
  std::string BNs = std::to_string(BN), PW = std::to_string(2 * BN);

  if (linear) {
    auto wt = cast<RankedTensorType>(linear.getWeight().getType());
    bool kn = linear.getWeightKn();
    int64_t n = kn ? wt.getDimSize(1) : wt.getDimSize(0);
    if (gated)
      n /= 2;
    K = lhs.dims.back();
    N = Sym::c(n);
    outDims.assign(lhs.dims.begin(), lhs.dims.end() - 1);
    M = numel(outDims);
    outDims.push_back(N);
    a = flatten(*this, lhs, 0, /*rowsMerged=*/true);
    WeightOp wop = storedWeight(linear.getWeight());
    if (gated && !wop)
      return op->emitOpError("a gated linear needs a stored weight (its "
                             "panels are packed at compile time)");
    if (wop) {
      FailureOr<View> pv =
          gated ? weightPanels(wop, kn, 2 * BN, WeightLayout::gated_panels)
                : weightPanels(wop, kn, BN);
      if (failed(pv))
        return failure();
      bflat.view = *pv;
      panels = true;
    } else {
      FailureOr<View> wv = view(linear.getWeight());
      if (failed(wv))
        return failure();
      View w = *wv;
      // B(k, n): [K, N] as is, [N, K] transposed.
      bflat.view = w;
      bflat.sr = kn ? w.strides[0] : w.strides[1];
      bflat.sc = kn ? w.strides[1] : w.strides[0];
    }
    if (Value b = linear.getBias()) {
      FailureOr<View> bv = view(b);
      if (failed(bv))
        return failure();
      bias = *bv;
      hasBias = true;
    }
    for (Value e : linear.getEpilogueInputs()) {
      FailureOr<View> ev = view(e);
      if (failed(ev))
        return failure();
      extras.push_back(
          flatten(*this, broadcastTo(*ev, outDims), 0, /*rowsMerged=*/true));
    }
  } else {
    FailureOr<View> rhsV = view(matmul.getRhs());
    if (failed(rhsV))
      return failure();
    View rhs = *rhsV;
    auto swapLast = [](View v) {
      int64_t r = v.rank();
      std::swap(v.dims[r - 1], v.dims[r - 2]);
      std::swap(v.strides[r - 1], v.strides[r - 2]);
      return v;
    };
    if (matmul.getTransposeLhs())
      lhs = swapLast(lhs);
    if (matmul.getTransposeRhs())
      rhs = swapLast(rhs);
    int64_t rank = cast<RankedTensorType>(op->getResult(0).getType()).getRank();
    // Batch dims: broadcast of both operands' leading dims.
    llvm::SmallVector<Sym, 4> bdims;
    for (int64_t d = 0; d < rank - 2; ++d) {
      int64_t ld = d - (rank - lhs.rank()), rd = d - (rank - rhs.rank());
      Sym s = Sym::c(1);
      if (ld >= 0 && !lhs.dims[ld].isConst(1))
        s = lhs.dims[ld];
      else if (rd >= 0 && !rhs.dims[rd].isConst(1))
        s = rhs.dims[rd];
      bdims.push_back(s);
    }
    M = lhs.dims[lhs.rank() - 2];
    K = lhs.dims.back();
    N = rhs.dims.back();
    batch = numel(bdims);
    llvm::SmallVector<Sym, 4> ldims = bdims, rdims = bdims;
    ldims.append({M, K});
    rdims.append({K, N});
    a = flatten(*this, broadcastTo(lhs, ldims), rank - 2, false);
    bflat = flatten(*this, broadcastTo(rhs, rdims), rank - 2, false);
    outDims = bdims;
    outDims.append({M, N});
  }
  View out = result(op->getResult(0), outDims);

  // The bias, the epilogue and the store of element (gm, gn) of batch bz,
  // whose accumulated value is in `v`.
  auto store = [&](KernelWriter &w,
                   const std::string &indent) -> LogicalResult {
    std::ostream &b = w.body;
    if (hasBias) {
      b << indent << "v += " << w.load(bias, "gn * " + bias.strides[0].glsl())
        << ";\n";
      if (gated) // the up half's bias follows the gate half's N
        b << indent
          << "u += " << w.load(bias, "(N + gn) * " + bias.strides[0].glsl())
          << ";\n";
    }
    std::string result = "v";
    if (linear && linear.hasEpilogue()) {
      Block &region = linear.getEpilogue().front();
      unsigned accs = linear.getNumAccumulators();
      ScalarPrinter p(w, "e");
      p.bind(region.getArgument(0), "v");
      if (gated)
        p.bind(region.getArgument(1), "u");
      for (auto [k, f] : llvm::enumerate(extras)) {
        std::string name = "x" + std::to_string(k);
        b << indent << "float " << name << " = "
          << w.load(f.view, "gm * " + f.sr.glsl() + " + gn * " + f.sc.glsl())
          << ";\n";
        p.bind(region.getArgument(k + accs), name);
      }
      llvm::SmallVector<std::string, 1> outs;
      if (failed(p.print(region, outs, indent)))
        return failure();
      result = outs[0];
    }
    b << indent << w.array(out) << "[" << w.base(out)
      << " + bz * M * N + gm * N + gn] = " << result << ";\n";
    return success();
  };
  std::string aAt =
      a.batchOffset() + " + gm * " + a.sr.glsl() + " + gk * " + a.sc.glsl();
  // B(gk, gn); `up`: the up feature paired with gate feature gn.
  auto bAt = [&](KernelWriter &w, bool up = false) {
    if (gated)
      return w.base(bflat.view) + " + (gn / " + BNs + ") * K * " + PW +
             " + gk * " + PW + " + gn % " + BNs + (up ? " + " + BNs : "");
    if (panels)
      return w.base(bflat.view) + " + (gn / " + BNs + ") * K * " + BNs +
             " + gk * " + BNs + " + gn % " + BNs;
    return w.base(bflat.view) + bflat.batchOffset() + " + gk * " +
           bflat.sr.glsl() + " + gn * " + bflat.sc.glsl();
  };

  // A few rows (decode): matrix-vector products, one output column per
  // invocation for every row, no shared memory and no barriers; neighbouring
  // invocations read neighbouring weights.
  constexpr int64_t kMaxGemvRows = 4;
  if (M.isConst() && M.value <= kMaxGemvRows) {
    unsigned T = target.pointThreads;
    KernelWriter w(entry, linear ? "linear_gemv" : "matmul_gemv", T);
    std::ostream &b = w.body;
    int64_t rows = M.value;
    b << "  int M = " << rows << ", N = " << N.glsl() << ", K = " << K.glsl()
      << ";\n"
      << "  int bz = int(gl_WorkGroupID.z);\n"
      << "  int gn = int(gl_GlobalInvocationID.x);\n"
      << "  if (gn >= N) return;\n"
      << "  float acc[" << rows << "];\n"
      << "  for (int gm = 0; gm < M; ++gm) acc[gm] = 0.0;\n";
    if (gated)
      b << "  float accu[" << rows << "];\n"
        << "  for (int gm = 0; gm < M; ++gm) accu[gm] = 0.0;\n";
    b << "  for (int gk = 0; gk < K; ++gk) {\n"
      << "    float bv = " << w.loadAt(bflat.view, bAt(w)) << ";\n";
    if (gated)
      b << "    float bu = " << w.loadAt(bflat.view, bAt(w, true)) << ";\n";
    b << "    for (int gm = 0; gm < M; ++gm) {\n"
      << "      float av = " << w.array(a.view) << "[" << w.base(a.view) << aAt
      << "];\n"
      << "      acc[gm] = fma(av, bv, acc[gm]);\n";
    if (gated)
      b << "      accu[gm] = fma(av, bu, accu[gm]);\n";
    b << "    }\n"
      << "  }\n"
      << "  for (int gm = 0; gm < M; ++gm) {\n"
      << "    float v = acc[gm];\n";
    if (gated)
      b << "    float u = accu[gm];\n";
    if (failed(store(w, "    ")))
      return failure();
    b << "  }\n";
    dispatch(w, S().ceilDiv(N, Sym::c(T)), Sym::c(1), batch);
    bind(op->getResult(0), out);
    return success();
  }

  unsigned BM = target.gemmBM, BK = target.gemmBK, TM = target.gemmTM,
           TN = target.gemmTN;
  unsigned NT = (BM / TM) * (BN / TN);
  KernelWriter w(entry, linear ? "linear" : "matmul", NT);
  std::ostream &b = w.body;
  w.helpers += "shared float As[" + std::to_string(BK) + "][" +
               std::to_string(BM) + "];\nshared float Bs[" +
               std::to_string(BK) + "][" + BNs + "];\n";
  if (gated)
    w.helpers += "shared float Bu[" + std::to_string(BK) + "][" + BNs + "];\n";
  b << "  int M = " << M.glsl() << ", N = " << N.glsl() << ", K = " << K.glsl()
    << ";\n";
  b << "  int bz = int(gl_WorkGroupID.z);\n"
    << "  int m0 = int(gl_WorkGroupID.y) * " << BM
    << ", n0 = int(gl_WorkGroupID.x) * " << BN << ";\n"
    << "  int tid = int(gl_LocalInvocationID.x);\n"
    << "  int tm = tid / " << BN / TN << ", tn = tid % " << BN / TN << ";\n"
    << "  float acc[" << TM << "][" << TN << "];\n"
    << "  for (int i = 0; i < " << TM << "; ++i)\n"
    << "    for (int j = 0; j < " << TN << "; ++j) acc[i][j] = 0.0;\n";
  if (gated)
    b << "  float accu[" << TM << "][" << TN << "];\n"
      << "  for (int i = 0; i < " << TM << "; ++i)\n"
      << "    for (int j = 0; j < " << TN << "; ++j) accu[i][j] = 0.0;\n";
  b << "  for (int k0 = 0; k0 < K; k0 += " << BK << ") {\n"
    << "    for (int i = tid; i < " << BK * BM << "; i += " << NT << ") {\n"
    << "      int mm = i / " << BK << ", kk = i % " << BK << ";\n"
    << "      int gm = m0 + mm, gk = k0 + kk;\n"
    << "      As[kk][mm] = (gm < M && gk < K) ? " << w.array(a.view) << "["
    << w.base(a.view) << aAt << "] : 0.0;\n"
    << "    }\n"
    << "    for (int i = tid; i < " << BK * BN << "; i += " << NT << ") {\n"
    << "      int kk = i / " << BN << ", nn = i % " << BN << ";\n"
    << "      int gn = n0 + nn, gk = k0 + kk;\n"
    << "      Bs[kk][nn] = (gn < N && gk < K) ? "
    << w.loadAt(bflat.view, bAt(w)) << " : 0.0;\n";
  if (gated)
    b << "      Bu[kk][nn] = (gn < N && gk < K) ? "
      << w.loadAt(bflat.view, bAt(w, true)) << " : 0.0;\n";
  b << "    }\n"
    << "    barrier();\n"
    << "    for (int kk = 0; kk < " << BK << "; ++kk) {\n"
    << "      float av[" << TM << "], bv[" << TN << "];\n"
    << "      for (int i = 0; i < " << TM << "; ++i) av[i] = As[kk][tm * " << TM
    << " + i];\n"
    << "      for (int j = 0; j < " << TN << "; ++j) bv[j] = Bs[kk][tn + j * "
    << BN / TN << "];\n";
  if (gated)
    b << "      float bu[" << TN << "];\n"
      << "      for (int j = 0; j < " << TN << "; ++j) bu[j] = Bu[kk][tn + j * "
      << BN / TN << "];\n";
  b << "      for (int i = 0; i < " << TM << "; ++i)\n"
    << "        for (int j = 0; j < " << TN << "; ++j) {\n"
    << "          acc[i][j] = fma(av[i], bv[j], acc[i][j]);\n";
  if (gated)
    b << "          accu[i][j] = fma(av[i], bu[j], accu[i][j]);\n";
  b << "        }\n"
    << "    }\n"
    << "    barrier();\n"
    << "  }\n";
  // Write-back with bias and the epilogue.
  b << "  for (int i = 0; i < " << TM << "; ++i)\n"
    << "    for (int j = 0; j < " << TN << "; ++j) {\n"
    << "      int gm = m0 + tm * " << TM << " + i, gn = n0 + tn + j * "
    << BN / TN << ";\n"
    << "      if (gm >= M || gn >= N) continue;\n"
    << "      float v = acc[i][j];\n";
  if (gated)
    b << "      float u = accu[i][j];\n";
  if (failed(store(w, "      ")))
    return failure();
  b << "    }\n";
  dispatch(w, S().ceilDiv(N, Sym::c(BN)), S().ceilDiv(M, Sym::c(BM)), batch);
  bind(op->getResult(0), out);
  return success();
}
