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

#include "KernelBuilder.h"
#include "Lowering.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

namespace {

/// How an epilogue input broadcasts against the [M, N] result.
struct EpilogueInput {
  enum Kind { Full, PerColumn, PerRow, Scalar } kind;
  Value mem; // [M, N], [N], [M] or [1]
};

struct Gemm {
  Lowering &l;
  KernelBuilder k;
  bool gated;          // panels pair gate and up features
  unsigned mr, nr, nv; // micro-kernel rows, columns, vectors per row
  Value m, n, kdim;    // sizes (index)
  Value k0, k1;        // the K block being accumulated
  Value first, last;   // i1: is it the first / last K block (null: only one)
  std::optional<int64_t> staticM;
  Value bp;        // packed B: [NP, K, NR] or [batch, NP, K, NR]
  Value c;         // [M, N] or [batch, M, N]
  Value partial;   // gated with K blocks: [M, panels * NR] raw sums
  Value bias;      // [N] or null ([2N] when gated)
  LinearOp linear; // for the epilogue region, or null
  SmallVector<EpilogueInput> inputs;
  /// A[row, kk] of the current batch.
  std::function<Value(ValueRange batch, Value row, Value kk)> loadA;

  Gemm(Lowering &l, Type elt, bool gated = false)
      : l(l), k(l.b, l.options.vectorWidth, elt), gated(gated),
        mr(gated ? std::max(1u, (l.options.gemmMR - 1) / 2) : l.options.gemmMR),
        nr((gated ? 2 : 1) * l.options.gemmNR), nv(nr / l.options.vectorWidth) {
  }

  /// Result columns one panel produces.
  unsigned outCols() const { return gated ? nr / 2 : nr; }
  /// Result vectors per row of a micro-kernel.
  unsigned outVecs() const { return gated ? nv / 2 : nv; }

  SmallVector<Value> idx(ValueRange batch, std::initializer_list<Value> rest) {
    SmallVector<Value> out(batch);
    out.append(rest.begin(), rest.end());
    return out;
  }

  /// Accumulates rows(r) for r < rows over the whole K, for panel `p`.
  SmallVector<Value> accumulate(ValueRange batch, Value p, unsigned rows,
                                llvm::function_ref<Value(unsigned)> rowOf) {
    SmallVector<Value> init(rows * nv, k.vcst(0.0));
    return k.loop(k0, k1, 1, init, [&](Value kk, ValueRange acc) {
      SmallVector<Value> b;
      for (unsigned j = 0; j < nv; ++j)
        b.push_back(k.load(bp, idx(batch, {p, kk, k.idx(j * k.lanes)})));
      SmallVector<Value> next(acc);
      for (unsigned r = 0; r < rows; ++r) {
        Value a = k.splat(loadA(batch, rowOf(r), kk));
        for (unsigned j = 0; j < nv; ++j)
          next[r * nv + j] =
              vector::FMAOp::create(l.b, a, b[j], acc[r * nv + j]);
      }
      return next;
    });
  }

  /// Stores one result vector from its accumulators (two when gated; `pcol`
  /// is then the gate vector's column in `partial`): with K blocks, adds
  /// the partial sums (after the first block) and finishes only after the
  /// last block.
  void writeBack(ValueRange batch, Value row, Value col, Value pcol,
                 SmallVector<Value, 2> v, Value mask) {
    SmallVector<Value> at = idx(batch, {row, col});
    if (!first) {
      finish(batch, row, col, v, mask);
      return;
    }
    if (gated) {
      // The partial buffer is padded to whole panels: no masks.
      Value pcols[2] = {pcol, k.add(pcol, k.idx(nr / 2))};
      for (unsigned h = 0; h < 2; ++h) {
        Value sum = k.load(partial, {row, pcols[h]});
        v[h] = arith::AddFOp::create(
            l.b, v[h], arith::SelectOp::create(l.b, first, k.vcst(0.0), sum));
      }
      auto ifOp = scf::IfOp::create(l.b, last, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard g(l.b);
      l.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      finish(batch, row, col, v, mask);
      l.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
      for (unsigned h = 0; h < 2; ++h)
        k.store(v[h], partial, {row, pcols[h]});
      return;
    }
    Value v0 = v[0];
    Value sum = k.load(c, at, mask, mask ? k.vcst(0.0) : Value());
    v0 = arith::AddFOp::create(
        l.b, v0, arith::SelectOp::create(l.b, first, k.vcst(0.0), sum));
    auto ifOp = scf::IfOp::create(l.b, last, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(l.b);
    l.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    finish(batch, row, col, {v0}, mask);
    l.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    k.store(v0, c, at, mask);
  }

  /// Applies bias and epilogue to one finished vector (gated: the pair of
  /// gate and up vectors) and stores it.
  void finish(ValueRange batch, Value row, Value col, ArrayRef<Value> accs,
              Value mask) {
    SmallVector<Value, 2> vs(accs);
    if (bias)
      for (unsigned h = 0; h < vs.size(); ++h) {
        Value at = h ? k.add(col, n) : col; // the up half's bias is after N
        vs[h] = arith::AddFOp::create(l.b, vs[h], k.load(bias, {at}, mask));
      }
    Value v = vs[0];
    if (linear && linear.hasEpilogue()) {
      Block &body = linear.getEpilogue().front();
      IRMapping map;
      for (auto [arg, acc] : llvm::zip(body.getArguments(), vs))
        map.map(arg, acc);
      for (auto [arg, in] :
           llvm::zip(body.getArguments().drop_front(vs.size()), inputs)) {
        Value x;
        switch (in.kind) {
        case EpilogueInput::Full:
          x = k.load(in.mem, {row, col}, mask);
          break;
        case EpilogueInput::PerColumn:
          x = k.load(in.mem, {col}, mask);
          break;
        case EpilogueInput::PerRow:
          x = k.splat(memref::LoadOp::create(l.b, in.mem, ValueRange{row}));
          break;
        case EpilogueInput::Scalar:
          x = k.splat(
              memref::LoadOp::create(l.b, in.mem, ValueRange{k.idx(0)}));
          break;
        }
        map.map(arg, x);
      }
      for (Operation &op : body.without_terminator())
        map.map(op.getResult(0), vectorize(op, map));
      v = map.lookup(body.getTerminator()->getOperand(0));
    }
    k.store(v, c, idx(batch, {row, col}), mask);
  }

  /// Clones a scalar arith/math op onto vectors of `lanes` elements.
  Value vectorize(Operation &op, IRMapping &map) {
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      auto vt = VectorType::get({k.lanes}, cst.getType());
      return arith::ConstantOp::create(
          l.b, vt, DenseElementsAttr::get(vt, cst.getValue()));
    }
    OperationState state(op.getLoc(), op.getName());
    for (Value operand : op.getOperands())
      state.addOperands(map.lookup(operand));
    for (Type t : op.getResultTypes())
      state.addTypes(VectorType::get({k.lanes}, t));
    state.addAttributes(op.getAttrs());
    return l.b.create(state)->getResult(0);
  }

  /// One work item: rows [r0, r0 + rows) of panel p.
  void tile(ValueRange batch, Value p, Value r0, unsigned rows, bool clamp) {
    Value lastRow = k.sub(m, k.idx(1));
    auto rowOf = [&](unsigned r) {
      Value row = k.add(r0, k.idx(r));
      return clamp ? k.min(row, lastRow) : row;
    };
    SmallVector<Value> rowIdx;
    for (unsigned r = 0; r < rows; ++r)
      rowIdx.push_back(rowOf(r));
    SmallVector<Value> acc =
        accumulate(batch, p, rows, [&](unsigned r) { return rowIdx[r]; });
    Value n0 = k.mul(p, k.idx(outCols()));
    unsigned ov = outVecs();
    auto storeAll = [&](bool masked) {
      for (unsigned r = 0; r < rows; ++r) {
        auto body = [&] {
          for (unsigned j = 0; j < ov; ++j) {
            Value col = k.add(n0, k.idx(j * k.lanes));
            Value mask;
            if (masked) {
              // Lanes left in this vector (may be <= 0: nothing stored).
              Value left = arith::SubIOp::create(l.b, n, col);
              left = arith::MaxSIOp::create(l.b, left, k.idx(0));
              mask = k.maskFor(left);
            }
            SmallVector<Value, 2> v = {acc[r * nv + j]};
            if (gated)
              v.push_back(acc[r * nv + ov + j]);
            Value pcol = partial
                             ? k.add(k.mul(p, k.idx(nr)), k.idx(j * k.lanes))
                             : Value();
            writeBack(batch, rowIdx[r], col, pcol, v, mask);
          }
        };
        if (clamp && r > 0)
          k.ifThen(k.lt(k.add(r0, k.idx(r)), m), body);
        else
          body();
      }
    };
    // Full panels store whole vectors; the last one may be partial.
    Value full = arith::CmpIOp::create(l.b, arith::CmpIPredicate::ule,
                                       k.add(n0, k.idx(outCols())), n);
    auto ifOp = scf::IfOp::create(l.b, full, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(l.b);
    l.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    storeAll(false);
    l.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    storeAll(true);
  }

  /// The K blocks (sequential) around the parallel loop over the tiles.
  void run(ArrayRef<Value> batchSizes) {
    // Blocking costs a round trip of C per block, which only pays when the
    // A panel would not stay in cache: K up to twice the block is one pass,
    // longer K is split into equal blocks of at most gemm-kc.
    std::optional<int64_t> staticK = getConstantIntValue(kdim);
    int64_t kc = l.options.gemmKC;
    if (staticK && !gemmSplitsK(*staticK, kc, staticM ? *staticM : -1)) {
      k0 = k.idx(0);
      k1 = kdim;
      tiles(batchSizes);
      return;
    }
    if (staticK) {
      int64_t count = (*staticK + kc - 1) / kc;
      kc = (*staticK + count - 1) / count;
    }
    Value blocks = k.div(k.add(kdim, k.idx(kc - 1)), k.idx(kc));
    k.loop(k.idx(0), blocks, 1, [&](Value kb) {
      k0 = k.mul(kb, k.idx(kc));
      k1 = k.min(k.add(k0, k.idx(kc)), kdim);
      first =
          arith::CmpIOp::create(l.b, arith::CmpIPredicate::eq, kb, k.idx(0));
      last = arith::CmpIOp::create(l.b, arith::CmpIPredicate::eq, kb,
                                   k.sub(blocks, k.idx(1)));
      tiles(batchSizes);
    });
  }

  /// The parallel loop over (batch..., row chunk, panel); each work item
  /// walks the row groups of its chunk.
  void tiles(ArrayRef<Value> batchSizes) {
    // At most gemm-mc rows per chunk, and chunks of equal size (a short last
    // chunk would leave threads idle under static scheduling).
    int64_t maxPerChunk = std::max<int64_t>(1, l.options.gemmMC / mr);
    Value groups = k.div(k.add(m, k.idx(mr - 1)), k.idx(mr));
    Value chunks =
        k.div(k.add(groups, k.idx(maxPerChunk - 1)), k.idx(maxPerChunk));
    Value perChunk = k.div(k.add(groups, k.sub(chunks, k.idx(1))), chunks);
    Value panels = k.div(k.add(n, k.idx(outCols() - 1)), k.idx(outCols()));
    SmallVector<Value> ubs(batchSizes);
    ubs.append({chunks, panels});
    k.parallel(ubs, [&](ValueRange iv) {
      ValueRange batch = iv.drop_back(2);
      Value chunk = iv[iv.size() - 2], p = iv.back();
      Value g0 = k.mul(chunk, perChunk);
      Value g1 = k.min(k.add(g0, perChunk), groups);
      if (!staticM) {
        // Dynamic M: the rows of the last group are clamped.
        k.loop(g0, g1, 1, [&](Value g) {
          tile(batch, p, k.mul(g, k.idx(mr)), mr, /*clamp=*/true);
        });
        return;
      }
      int64_t fullGroups = *staticM / mr, rest = *staticM % mr;
      k.loop(g0, k.min(g1, k.idx(fullGroups)), 1, [&](Value g) {
        tile(batch, p, k.mul(g, k.idx(mr)), mr, /*clamp=*/false);
      });
      if (rest == 0)
        return;
      // One exact micro-kernel for the rows after the full groups, in the
      // chunk that holds them.
      k.ifThen(arith::CmpIOp::create(l.b, arith::CmpIPredicate::eq, g1, groups),
               [&] {
                 tile(batch, p, k.idx(fullGroups * mr), rest, /*clamp=*/false);
               });
    });
  }
};

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
  if (w)
    g.bp = l.gemmPanels(w, op.getWeightKn(), g.nr,
                        op.getGated() ? WeightLayout::gated_panels
                                      : WeightLayout::gemm_panels);
  else
    g.bp = packAtRunTime(l, l.lookup(op.getWeight()), !op.getWeightKn(), g.nr,
                         {}, {});
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
