//===- Gemm.cpp - register-blocked GEMM for linear and matmul -------------===//
//
// Part of tfmc. C[M, N] = A[M, K] * B[K, N] (+ bias, epilogue) with
//
//  * B in NR-column panels, [ceil(N/NR), K, NR]: packed at compile time for
//    model weights (stored packed in weights.bin), packed at run time into a
//    temporary for activations (unfused attention);
//  * an MR x NR micro-kernel: MR*NR/lanes vector accumulators live in
//    registers across the whole K loop, each step loads NR/lanes vectors of B
//    and broadcasts MR scalars of A;
//  * the epilogue (bias, then the linear's epilogue region cloned onto
//    vectors, reading residuals and other inputs) applied to the
//    accumulators before the only store of C;
//  * cache blocking as in BLIS/GotoBLAS: K is split into blocks of KC (a
//    sequential loop around the parallel one; partial sums go through C and
//    the epilogue runs after the last block), rows into chunks of MC; one
//    work item is (batch, chunk, panel) and walks the chunk's row groups, so
//    the B micro-panel slice (KC x NR) is reused from L1 and consecutive
//    work items of a thread reuse the chunk's A block (MC x KC) from L2.
//
// With a static M the last row group runs a micro-kernel with exactly the
// remaining rows; with a dynamic M the rows of the last group are clamped
// (recomputed, not stored).
//
// A gated linear (act(gate) * up in one GEMM) runs 2*NR-wide panels whose
// first NR columns are gate features and last NR the matching up features
// (layout gated_panels): accumulator vectors j and nv/2 + j are one pair of
// the epilogue, which stores NR results per panel. Its rows per micro-kernel
// halve so the accumulators still fit the registers; with K blocks the raw
// sums of both halves go through a scratch [M, panels * 2 NR].
//
//===----------------------------------------------------------------------===//

#include "GemmKernel.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

namespace {
/// Packs a run-time right operand into NR-column panels (zero padded):
/// out[b..., p, kk, c] = B(b..., kk, n = p * NR + c).
Value packAtRunTime(Lowering &l, Value b, bool transposed, int64_t nr,
                    ArrayRef<Value> batchSizes, ArrayRef<int64_t> batchShape) {
  auto bt = cast<MemRefType>(b.getType());
  int64_t rank = bt.getRank();
  Value kdim = l.dim(b, transposed ? rank - 1 : rank - 2);
  Value n = l.dim(b, transposed ? rank - 2 : rank - 1);
  KernelBuilder k(l.b, l.options.vectorWidth, bt.getElementType());
  Value panels = k.div(k.add(n, k.idx(nr - 1)), k.idx(nr));
  SmallVector<int64_t> shape(batchShape);
  shape.append({ShapedType::kDynamic, ShapedType::kDynamic, nr});
  SmallVector<Value> dyn;
  for (auto [s, v] : llvm::zip(batchShape, batchSizes))
    if (ShapedType::isDynamic(s))
      dyn.push_back(v);
  dyn.append({panels, kdim});
  Value out = l.scratch(MemRefType::get(shape, bt.getElementType()), dyn);
  int64_t outRank = shape.size();
  MLIRContext *ctx = l.b.getContext();
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(outRank, ctx)};
  SmallVector<utils::IteratorType> iters(outRank,
                                         utils::IteratorType::parallel);
  int64_t nb = batchShape.size();
  int64_t lead = nb - (rank - 2); // batch dims of B are right-aligned
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{}, ValueRange{out}, maps, iters,
      [&](OpBuilder &ob, Location loc, ValueRange) {
        SmallVector<Value> iv;
        for (int64_t i = 0; i < outRank; ++i)
          iv.push_back(linalg::IndexOp::create(ob, loc, i));
        Value col = arith::AddIOp::create(
            ob, loc,
            arith::MulIOp::create(ob, loc, iv[nb],
                                  arith::ConstantIndexOp::create(ob, loc, nr)),
            iv[nb + 2]);
        Value inside =
            arith::CmpIOp::create(ob, loc, arith::CmpIPredicate::ult, col, n);
        Value safeCol = arith::SelectOp::create(
            ob, loc, inside, col, arith::ConstantIndexOp::create(ob, loc, 0));
        SmallVector<Value> bi;
        for (int64_t i = 0; i < rank - 2; ++i)
          bi.push_back(
              bt.getDimSize(i) == 1
                  ? arith::ConstantIndexOp::create(ob, loc, 0).getResult()
                  : iv[lead + i]);
        if (transposed)
          bi.append({safeCol, iv[nb + 1]});
        else
          bi.append({iv[nb + 1], safeCol});
        Value v = memref::LoadOp::create(ob, loc, b, bi);
        Value zero = arith::ConstantOp::create(
            ob, loc, bt.getElementType(),
            ob.getFloatAttr(bt.getElementType(), 0.0));
        linalg::YieldOp::create(
            ob, loc, Value(arith::SelectOp::create(ob, loc, inside, v, zero)));
      });
  return out;
}

/// Classifies (and if needed materialises) an epilogue input against the
/// [M, N] result of shape `outShape`.
EpilogueInput epilogueInput(Lowering &l, Value in, ArrayRef<int64_t> outShape) {
  auto t = cast<MemRefType>(in.getType());
  ArrayRef<int64_t> s = t.getShape();
  auto allOnes = [](ArrayRef<int64_t> d) {
    return llvm::all_of(d, [](int64_t x) { return x == 1; });
  };
  auto flat = [&](Value v) -> Value {
    v = l.contiguous(v);
    auto vt = cast<MemRefType>(v.getType());
    if (vt.getRank() == 1)
      return v;
    SmallVector<ReassociationIndices> all(1);
    for (int64_t i = 0; i < vt.getRank(); ++i)
      all[0].push_back(i);
    if (vt.getRank() == 0)
      return memref::ExpandShapeOp::create(
          l.b, MemRefType::get({1}, vt.getElementType()), v,
          ArrayRef<ReassociationIndices>{});
    return memref::CollapseShapeOp::create(l.b, v, all);
  };
  if (s == outShape)
    return {EpilogueInput::Full, l.asMatrix(in, outShape.size() - 1)};
  if (allOnes(s))
    return {EpilogueInput::Scalar, flat(in)};
  if (!s.empty() && s.back() == outShape.back() && allOnes(s.drop_back()))
    return {EpilogueInput::PerColumn, flat(in)};
  if (s.size() == outShape.size() && s.back() == 1 &&
      s.drop_back() == outShape.drop_back())
    return {EpilogueInput::PerRow, flat(in)};
  // Anything else is broadcast into a full [M, N] copy first.
  Value full = l.scratch(MemRefType::get(outShape, t.getElementType()));
  MLIRContext *ctx = l.b.getContext();
  int64_t rank = outShape.size(), lead = rank - s.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
    exprs.push_back(s[i] == 1 && outShape[lead + i] != 1
                        ? getAffineConstantExpr(0, ctx)
                        : getAffineDimExpr(lead + i, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, exprs, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  linalg::GenericOp::create(l.b, TypeRange{}, ValueRange{in}, ValueRange{full},
                            maps, iters,
                            [](OpBuilder &ob, Location loc, ValueRange a) {
                              linalg::YieldOp::create(ob, loc, a[0]);
                            });
  return {EpilogueInput::Full, l.asMatrix(full, rank - 1)};
}

LogicalResult lowerLinear(LinearOp op, Lowering &l) {
  RankedTensorType rt = op.getType();
  Value x = l.lookup(op.getInput());
  int64_t rank = rt.getRank();
  Value a = l.asMatrix(x, rank - 1);
  Value outFull = l.allocFor(op, l.dynamicSizesLike(rt, x));
  Gemm g(l, rt.getElementType(), op.getGated());
  g.c = l.asMatrix(outFull, rank - 1);
  g.m = l.dim(a, 0);
  g.kdim = l.dim(a, 1);
  g.n = arith::ConstantIndexOp::create(l.b, rt.getDimSize(rank - 1));
  if (!ShapedType::isDynamic(cast<MemRefType>(a.getType()).getDimSize(0)))
    g.staticM = cast<MemRefType>(a.getType()).getDimSize(0);
  // Scratch: broadcast epilogue inputs first (static sizes), then the
  // run-time panels, which may have dynamic sizes (PlanTarget.cpp).
  g.linear = op;
  for (Value in : op.getEpilogueInputs())
    g.inputs.push_back(epilogueInput(l, l.lookup(in), rt.getShape()));
  // A stored weight (possibly narrower than f32, widened as it is loaded)
  // is packed at compile time.
  WeightOp w = storedWeight(op.getWeight());
  if (op.getGated() && !w)
    return op.emitOpError("a gated linear needs a stored weight (its panels "
                          "are packed at compile time)");
  WeightLayout layout =
      op.getGated() ? WeightLayout::gated_panels : WeightLayout::gemm_panels;
  if (w)
    g.bp = l.gemmPanels(w, op.getWeightKn(), g.nr, layout);
  else
    g.bp = packAtRunTime(l, l.lookup(op.getWeight()), !op.getWeightKn(), g.nr,
                         {}, {});
  if (w && w.getQuantAttr()) {
    g.bscale = l.gemmScales(w, op.getWeightKn(), g.nr, layout);
    g.quant = w.getQuantAttr();
  }
  int64_t kStatic = cast<MemRefType>(a.getType()).getDimSize(1);
  if (op.getGated() &&
      gemmSplitsK(kStatic, l.options.gemmKC, g.staticM ? *g.staticM : -1)) {
    // Last scratch piece: with a dynamic M it takes the rest (PlanTarget).
    int64_t h = rt.getDimSize(rank - 1);
    int64_t cols = gatedPartialColumns(h, l.options.gemmNR);
    auto at = cast<MemRefType>(a.getType());
    SmallVector<Value> dyn;
    if (at.isDynamicDim(0))
      dyn.push_back(g.m);
    g.partial = l.scratch(
        MemRefType::get({at.getDimSize(0), cols}, rt.getElementType()), dyn);
  }
  if (Value b = op.getBias())
    g.bias = l.contiguous(l.lookup(b));
  g.loadA = [&, a](ValueRange, Value row, Value kk) -> Value {
    return memref::LoadOp::create(l.b, a, ValueRange{row, kk});
  };
  g.run({});
  l.bind(op, outFull);
  return success();
}

LogicalResult lowerMatmul(MatmulOp op, Lowering &l) {
  RankedTensorType rt = op.getType();
  int64_t rank = rt.getRank(), nb = rank - 2;
  ArrayRef<int64_t> batchShape = rt.getShape().take_front(nb);
  if (llvm::any_of(batchShape, ShapedType::isDynamic))
    return op.emitOpError("dynamic batch dimensions are not supported");
  Value lhs = l.lookup(op.getLhs()), rhs = l.lookup(op.getRhs());
  auto lt = cast<MemRefType>(lhs.getType());
  auto rmt = cast<MemRefType>(rhs.getType());
  int64_t lrank = lt.getRank(), rrank = rmt.getRank();
  bool tl = op.getTransposeLhs(), tr = op.getTransposeRhs();
  SmallVector<Value> batchSizes;
  for (int64_t d : batchShape)
    batchSizes.push_back(arith::ConstantIndexOp::create(l.b, d));
  Gemm g(l, rt.getElementType());
  g.m = l.dim(lhs, tl ? lrank - 1 : lrank - 2);
  g.n = l.dim(rhs, tr ? rrank - 2 : rrank - 1);
  g.kdim = l.dim(lhs, tl ? lrank - 2 : lrank - 1);
  SmallVector<Value> sizes;
  if (rt.isDynamicDim(rank - 2))
    sizes.push_back(g.m);
  if (rt.isDynamicDim(rank - 1))
    sizes.push_back(g.n);
  g.c = l.allocFor(op, sizes);
  if (!rt.isDynamicDim(rank - 2))
    g.staticM = rt.getDimSize(rank - 2);
  g.bp =
      packAtRunTime(l, rhs, op.getTransposeRhs(), g.nr, batchSizes, batchShape);
  int64_t lead = nb - (lrank - 2);
  g.loadA = [&, lhs, tl, lead, lt](ValueRange batch, Value row,
                                   Value kk) -> Value {
    SmallVector<Value> idx;
    for (int64_t i = 0; i < lt.getRank() - 2; ++i)
      idx.push_back(lt.getDimSize(i) == 1
                        ? arith::ConstantIndexOp::create(l.b, 0).getResult()
                        : batch[lead + i]);
    if (tl)
      idx.append({kk, row});
    else
      idx.append({row, kk});
    return memref::LoadOp::create(l.b, lhs, idx);
  };
  g.run(batchSizes);
  l.bind(op, g.c);
  return success();
}
} // namespace

LogicalResult mlir::tfm::cpu::lowerGemm(Operation *op, Lowering &l) {
  if (auto lin = dyn_cast<LinearOp>(op))
    return lowerLinear(lin, l);
  return lowerMatmul(cast<MatmulOp>(op), l);
}
