//===- MoE.cpp - mixture-of-experts routing and grouped expert GEMMs ------===//
//
// Part of tfmc. tfm.moe_gate: per row (in parallel) a softmax over the
// experts, the top-k by value (lower index first on equal values) found by
// k passes that each take the next element in (value desc, index asc)
// order, and the selected weights renormalised (topk_softmax) or kept.
//
// tfm.moe computes only the selected experts:
//
//  1. routing (sequential, O(rows * experts) scalar work): per expert the
//     rows that selected it (the first top_k non-zero weights of a row),
//     grouped expert by expert with their tokens in order, and their
//     routing weights -- tables in scratch memory;
//  2. per expert with at least one row: the gated GEMM (gate/up panels of
//     that expert, act(gate) * up in its write-back) over the expert's rows,
//     gathered from the input through the routing table, into a hidden
//     buffer; then the down GEMM over the hidden rows whose write-back
//     scales by the routing weight and adds into the token's output row.
//
// The output starts at zero and experts are visited in increasing order,
// so each row sums its experts exactly as Hugging Face's Mixtral does
// (index_add_ per expert). An expert no row selected is not read: a decode
// step reads the weights of its top_k experts only.
//
//===----------------------------------------------------------------------===//

#include "GemmKernel.h"

#include "tfm/IR/ScalarUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <limits>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

namespace {

Value toIndex(Lowering &l, Value v) {
  return arith::IndexCastOp::create(l.b, l.b.getIndexType(), v);
}
Value toI32(Lowering &l, Value v) {
  return arith::IndexCastOp::create(l.b, l.b.getI32Type(), v);
}
Value cmpf(Lowering &l, arith::CmpFPredicate p, Value a, Value b) {
  return arith::CmpFOp::create(l.b, p, a, b);
}
Value cmpi(Lowering &l, arith::CmpIPredicate p, Value a, Value b) {
  return arith::CmpIOp::create(l.b, p, a, b);
}
Value both(Lowering &l, Value a, Value b) {
  return arith::AndIOp::create(l.b, a, b);
}
Value either(Lowering &l, Value a, Value b) {
  return arith::OrIOp::create(l.b, a, b);
}

LogicalResult lowerGate(MoEGateOp op, Lowering &l) {
  RankedTensorType rt = op.getType();
  int64_t rank = rt.getRank(), experts = rt.getShape().back();
  if (!rt.getElementType().isF32())
    return op.emitOpError("runs on f32 router logits on the CPU, not ")
           << rt.getElementType();
  Value x = l.lookup(op.getInput());
  Value in = l.asMatrix(x, rank - 1);
  Value outFull = l.allocFor(op, l.dynamicSizesLike(rt, x));
  Value out = l.asMatrix(outFull, rank - 1);
  KernelBuilder k(l.b, l.options.vectorWidth, rt.getElementType());
  Value e0 = k.idx(0), eN = k.idx(experts);
  bool renormalise = op.getRouting() == Routing::topk_softmax;
  int64_t topK = op.getTopK();
  k.parallel({l.dim(in, 0)}, [&](ValueRange iv) {
    Value t = iv[0];
    auto at = [&](Value e) { return k.loadScalar(in, {t, e}); };
    // Softmax as PyTorch computes it: exp(x - max) * (1 / sum).
    Value mx =
        k.loop(e0, eN, 1, {k.cst(-std::numeric_limits<double>::infinity())},
               [&](Value e, ValueRange acc) -> SmallVector<Value> {
                 return {arith::MaximumFOp::create(l.b, acc[0], at(e))};
               })[0];
    Value sum =
        k.loop(e0, eN, 1, {k.cst(0.0)},
               [&](Value e, ValueRange acc) -> SmallVector<Value> {
                 Value ex = math::ExpOp::create(
                     l.b, arith::SubFOp::create(l.b, at(e), mx));
                 memref::StoreOp::create(l.b, ex, out, ValueRange{t, e});
                 return {arith::AddFOp::create(l.b, acc[0], ex)};
               })[0];
    Value inv = arith::DivFOp::create(l.b, k.cst(1.0), sum);
    k.loop(e0, eN, 1, [&](Value e) {
      Value p = k.loadScalar(out, {t, e});
      memref::StoreOp::create(l.b, arith::MulFOp::create(l.b, p, inv), out,
                              ValueRange{t, e});
    });
    // The top_k in (value desc, index asc) order; the selected values are
    // summed in that order (torch.topk's output, then .sum()).
    Value inf = k.cst(std::numeric_limits<double>::infinity());
    SmallVector<Value> state = {inf, e0, k.cst(0.0)}; // last value, index, sum
    for (int64_t r = 0; r < topK; ++r) {
      Value prevV = state[0], prevI = state[1];
      SmallVector<Value> best = k.loop(
          e0, eN, 1, {k.cst(-1.0), e0},
          [&](Value e, ValueRange acc) -> SmallVector<Value> {
            Value p = k.loadScalar(out, {t, e});
            Value after =
                either(l, cmpf(l, arith::CmpFPredicate::OLT, p, prevV),
                       both(l, cmpf(l, arith::CmpFPredicate::OEQ, p, prevV),
                            cmpi(l, arith::CmpIPredicate::ugt, e, prevI)));
            Value better =
                both(l, after, cmpf(l, arith::CmpFPredicate::OGT, p, acc[0]));
            return {arith::SelectOp::create(l.b, better, p, acc[0]),
                    arith::SelectOp::create(l.b, better, e, acc[1])};
          });
      state = {best[0], best[1], arith::AddFOp::create(l.b, state[2], best[0])};
    }
    // Selected: at or before the k-th in that order.
    Value lastV = state[0], lastI = state[1], total = state[2];
    k.loop(e0, eN, 1, [&](Value e) {
      Value p = k.loadScalar(out, {t, e});
      Value sel = either(l, cmpf(l, arith::CmpFPredicate::OGT, p, lastV),
                         both(l, cmpf(l, arith::CmpFPredicate::OEQ, p, lastV),
                              cmpi(l, arith::CmpIPredicate::ule, e, lastI)));
      Value w = renormalise ? arith::DivFOp::create(l.b, p, total) : p;
      memref::StoreOp::create(l.b,
                              arith::SelectOp::create(l.b, sel, w, k.cst(0.0)),
                              out, ValueRange{t, e});
    });
  });
  l.bind(op, outFull);
  return success();
}

LogicalResult lowerExperts(MoEOp op, Lowering &l) {
  RankedTensorType rt = op.getType();
  int64_t rank = rt.getRank(), experts = op.getNumExperts();
  int64_t topK = op.getTopK(), d = rt.getShape().back();
  int64_t f = op.getExpertFeatures();
  Type elt = rt.getElementType();
  if (!elt.isF32())
    return op.emitOpError("runs on f32 activations on the CPU (weights may "
                          "be narrower), not ")
           << elt;
  WeightOp gateUpW = storedWeight(op.getGateUp());
  WeightOp downW = storedWeight(op.getDown());
  if (!gateUpW || !downW)
    return op.emitOpError("needs stored expert weights (their panels are "
                          "packed at compile time)");
  Value xFull = l.lookup(op.getInput());
  Value x = l.asMatrix(xFull, rank - 1);
  Value gate = l.asMatrix(l.lookup(op.getGate()), rank - 1);
  Value outFull = l.allocFor(op, l.dynamicSizesLike(rt, xFull));
  Value out = l.asMatrix(outFull, rank - 1);
  KernelBuilder k(l.b, l.options.vectorWidth, elt);
  Value rows = l.dim(x, 0);

  // Scratch pieces for the actual rows (MoEScratch, PlanTarget.cpp).
  int64_t staticRows = 1;
  for (int64_t i = 0; i + 1 < rank; ++i)
    staticRows = rt.isDynamicDim(i) || staticRows < 0
                     ? -1
                     : staticRows * rt.getDimSize(i);
  MoEScratch s =
      moeScratch(experts, topK, d, f, elementBytes(elt), staticRows, l.options);
  Type i32 = l.b.getI32Type(), f32 = l.b.getF32Type();
  int64_t dyn = ShapedType::kDynamic;
  Value offsets = l.scratchAt(k.idx(0), MemRefType::get({experts + 1}, i32));
  Value cursor =
      l.scratchAt(k.idx(4 * (experts + 1)), MemRefType::get({experts}, i32));
  Value at = k.idx(s.fixed);
  auto piece = [&](int64_t perRow, Type type, ArrayRef<int64_t> shape,
                   ValueRange sizes) {
    Value v = l.scratchAt(at, MemRefType::get(shape, type), sizes);
    at = k.add(at, k.mul(rows, k.idx(perRow)));
    return v;
  };
  Value slots = k.mul(rows, k.idx(topK));
  Value perm = piece(s.permRow, i32, {dyn}, {slots});
  Value weights = piece(s.weightRow, f32, {dyn}, {slots});
  Value hidden = piece(s.hiddenRow, elt, {dyn, f}, {rows});
  Value downPartial, gatePartial;
  if (s.splitDown)
    downPartial = piece(s.downPartialRow, elt, {dyn, d}, {rows});
  if (s.splitGate)
    gatePartial =
        piece(s.gatePartialRow, elt,
              {dyn, gatedPartialColumns(f, l.options.gemmNR)}, {rows});

  // 1. Routing tables.
  Value c0 = arith::ConstantIntOp::create(l.b, i32, 0);
  Value c1 = arith::ConstantIntOp::create(l.b, i32, 1);
  Value zero = k.cst(0.0);
  Value e0 = k.idx(0), eN = k.idx(experts);
  k.loop(e0, k.idx(experts + 1), 1,
         [&](Value e) { memref::StoreOp::create(l.b, c0, offsets, e); });
  // Visits the first top_k non-zero weights of every row, in expert order.
  auto routed = [&](llvm::function_ref<void(Value t, Value e, Value w)> body) {
    k.loop(e0, rows, 1, [&](Value t) {
      k.loop(e0, eN, 1, {c0}, [&](Value e, ValueRange n) -> SmallVector<Value> {
        Value w = k.loadScalar(gate, {t, e});
        Value sel = both(l, cmpf(l, arith::CmpFPredicate::UNE, w, zero),
                         cmpi(l, arith::CmpIPredicate::slt, n[0],
                              arith::ConstantIntOp::create(l.b, i32, topK)));
        k.ifThen(sel, [&] { body(t, e, w); });
        return {arith::AddIOp::create(
            l.b, n[0], arith::SelectOp::create(l.b, sel, c1, c0))};
      });
    });
  };
  routed([&](Value, Value e, Value) {
    Value slot = k.add(e, k.idx(1));
    Value n = memref::LoadOp::create(l.b, offsets, ValueRange{slot});
    memref::StoreOp::create(l.b, arith::AddIOp::create(l.b, n, c1), offsets,
                            ValueRange{slot});
  });
  k.loop(e0, eN, 1, [&](Value e) {
    Value next = k.add(e, k.idx(1));
    Value a = memref::LoadOp::create(l.b, offsets, ValueRange{e});
    Value b = memref::LoadOp::create(l.b, offsets, ValueRange{next});
    memref::StoreOp::create(l.b, arith::AddIOp::create(l.b, a, b), offsets,
                            ValueRange{next});
    memref::StoreOp::create(l.b, a, cursor, ValueRange{e});
  });
  routed([&](Value t, Value e, Value w) {
    Value slot = memref::LoadOp::create(l.b, cursor, ValueRange{e});
    Value si = toIndex(l, slot);
    memref::StoreOp::create(l.b, toI32(l, t), perm, ValueRange{si});
    memref::StoreOp::create(l.b, w, weights, ValueRange{si});
    memref::StoreOp::create(l.b, arith::AddIOp::create(l.b, slot, c1), cursor,
                            ValueRange{e});
  });

  // 2. The selected experts, in order, adding into a zeroed output.
  linalg::FillOp::create(l.b, ValueRange{zero}, ValueRange{out});
  Value gateUp = l.gemmPanels(gateUpW, false, 2 * l.options.gemmNR,
                              WeightLayout::gated_panels);
  Value down = l.gemmPanels(downW, false, l.options.gemmNR);
  // Expert e's panels: [E, NP, K, W] -> [NP, K, W].
  auto expertPanels = [&](Value stack, Value e) {
    auto t = cast<MemRefType>(stack.getType());
    SmallVector<OpFoldResult> offs = {e, l.b.getIndexAttr(0),
                                      l.b.getIndexAttr(0), l.b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {l.b.getIndexAttr(1)};
    SmallVector<OpFoldResult> ones(4, l.b.getIndexAttr(1));
    for (int64_t i = 1; i < 4; ++i)
      sizes.push_back(l.b.getIndexAttr(t.getDimSize(i)));
    auto reduced = memref::SubViewOp::inferRankReducedResultType(
        t.getShape().drop_front(), t, offs, sizes, ones);
    return memref::SubViewOp::create(l.b, cast<MemRefType>(reduced), stack,
                                     offs, sizes, ones);
  };
  std::optional<int64_t> bound =
      staticRows < 0 ? std::nullopt : std::optional<int64_t>(staticRows);
  k.loop(e0, eN, 1, [&](Value e) {
    Value first = toIndex(
        l, memref::LoadOp::create(l.b, offsets, ValueRange{e}).getResult());
    Value end = toIndex(
        l, memref::LoadOp::create(l.b, offsets, ValueRange{k.add(e, k.idx(1))})
               .getResult());
    Value count = k.sub(end, first);
    k.ifThen(cmpi(l, arith::CmpIPredicate::ugt, count, e0), [&] {
      // act(x W_gate^T) * (x W_up^T) of the expert's rows into `hidden`.
      Gemm up(l, elt, /*gated=*/true);
      up.m = count;
      up.n = k.idx(f);
      up.kdim = k.idx(d);
      up.maxM = bound;
      up.bp = expertPanels(gateUp, e);
      up.c = hidden;
      up.partial = gatePartial;
      up.aRow = [&](Value r) {
        return toIndex(
            l, memref::LoadOp::create(l.b, perm, ValueRange{k.add(first, r)})
                   .getResult());
      };
      up.loadA = [&](ValueRange, Value row, Value kk) -> Value {
        return memref::LoadOp::create(l.b, x, ValueRange{row, kk});
      };
      up.epilogue = [&](ArrayRef<Value> accs, Value) {
        Value a =
            buildActivation(l.b, l.b.getLoc(), accs[0], op.getActivation());
        return Value(arith::MulFOp::create(l.b, a, accs[1]));
      };
      up.run({});
      // out[token] += weight * (hidden W_down^T).
      Gemm dn(l, elt);
      dn.m = count;
      dn.n = k.idx(d);
      dn.kdim = k.idx(f);
      dn.maxM = bound;
      dn.bp = expertPanels(down, e);
      dn.c = downPartial ? downPartial : hidden; // C holds only K partials
      dn.loadA = [&](ValueRange, Value row, Value kk) -> Value {
        return memref::LoadOp::create(l.b, hidden, ValueRange{row, kk});
      };
      dn.epilogue = [&](ArrayRef<Value> accs, Value row) {
        Value w =
            memref::LoadOp::create(l.b, weights, ValueRange{k.add(first, row)});
        return Value(arith::MulFOp::create(l.b, accs[0], k.splat(w)));
      };
      dn.storeC = [&](Value row, Value col, Value v, Value mask) {
        Value token = toIndex(
            l, memref::LoadOp::create(l.b, perm, ValueRange{k.add(first, row)})
                   .getResult());
        Value cur =
            k.load(out, {token, col}, mask, mask ? k.vcst(0.0) : Value());
        k.store(arith::AddFOp::create(l.b, cur, v), out, {token, col}, mask);
      };
      dn.run({});
    });
  });
  l.bind(op, outFull);
  return success();
}
} // namespace

LogicalResult mlir::tfm::cpu::lowerMoE(Operation *op, Lowering &l) {
  if (auto g = dyn_cast<MoEGateOp>(op))
    return lowerGate(g, l);
  return lowerExperts(cast<MoEOp>(op), l);
}
