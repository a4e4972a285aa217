//===- Elementwise.cpp - elementwise, reduction and gather ops ------------===//
//
// Part of tfmc. These ops lower to linalg.generic on buffers whose bodies
// come from each op's ScalarComputeOpInterface; the loops become parallel
// loops that LLVM vectorises. (The hot ops of a fused model are the GEMM,
// attention and row kernels; these cover everything else, including the
// unfused pipeline that serves as the numeric reference.)
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "tfm/IR/ScalarUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

/// The indexing map that reads an operand of `shape` broadcast (NumPy rules,
/// right-aligned) to an iteration space of rank `rank` and `outShape`.
static AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> shape,
                              ArrayRef<int64_t> outShape) {
  int64_t rank = outShape.size();
  int64_t lead = rank - static_cast<int64_t>(shape.size());
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    bool broadcast = shape[i] == 1 && outShape[lead + i] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(lead + i, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// linalg.generic over `out`'s iteration space reading `ins` broadcast; the
/// body receives one scalar per input and returns the output scalar.
static void buildGeneric(
    Lowering &l, ValueRange ins, Value out,
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = l.b.getContext();
  ArrayRef<int64_t> outShape = cast<MemRefType>(out.getType()).getShape();
  SmallVector<AffineMap> maps;
  for (Value in : ins)
    maps.push_back(
        broadcastMap(ctx, cast<MemRefType>(in.getType()).getShape(), outShape));
  maps.push_back(AffineMap::getMultiDimIdentityMap(outShape.size(), ctx));
  SmallVector<utils::IteratorType> iters(outShape.size(),
                                         utils::IteratorType::parallel);
  linalg::GenericOp::create(l.b, TypeRange{}, ins, ValueRange{out}, maps, iters,
                            [&](OpBuilder &nb, Location loc, ValueRange args) {
                              Value r = body(nb, loc, args.drop_back());
                              linalg::YieldOp::create(nb, loc, r);
                            });
}

LogicalResult mlir::tfm::cpu::lowerElementwise(Operation *op, Lowering &l) {
  auto compute = cast<ScalarComputeOpInterface>(op);
  SmallVector<Value> ins;
  for (Value v : op->getOperands())
    ins.push_back(l.lookup(v));
  Value result = op->getResult(0);
  auto rt = cast<RankedTensorType>(result.getType());
  // The output's dynamic sizes come from an operand of the same shape.
  Value like;
  for (Value in : ins)
    if (cast<MemRefType>(in.getType()).getShape() == rt.getShape())
      like = in;
  if (!like && !rt.hasStaticShape())
    return op->emitOpError("dynamic broadcast results are not supported");
  Value out = l.allocFor(result, like ? l.dynamicSizesLike(rt, like)
                                      : SmallVector<Value>());
  buildGeneric(l, ins, out, [&](OpBuilder &nb, Location loc, ValueRange a) {
    return compute.buildScalarComputation(nb, loc, a);
  });
  l.bind(result, out);
  return success();
}

//===----------------------------------------------------------------------===//
// Constants, embeddings, gathers
//===----------------------------------------------------------------------===//

static LogicalResult lowerConstant(ConstantOp op, Lowering &l) {
  auto module = op->getParentOfType<ModuleOp>();
  auto type =
      MemRefType::get(op.getType().getShape(), op.getType().getElementType());
  static unsigned counter = 0;
  std::string name;
  do {
    name = "__tfm_constant_" + std::to_string(counter++);
  } while (module.lookupSymbol(name));
  {
    OpBuilder::InsertionGuard g(l.b);
    l.b.setInsertionPointToStart(module.getBody());
    memref::GlobalOp::create(l.b, name, l.b.getStringAttr("private"), type,
                             cast<ElementsAttr>(op.getValue()),
                             /*constant=*/true, IntegerAttr());
  }
  Value global = memref::GetGlobalOp::create(l.b, type, name);
  Value out = l.allocFor(op);
  memref::CopyOp::create(l.b, global, out);
  l.bind(op, out);
  return success();
}

/// result[i..., j...] = table[index(ids[i...]), j...] along `axis` of table.
/// A token table the plan stores only as GEMM panels (an LM head tied to
/// the embedding) is read from them: row v is column v % NR of panel v / NR.
static LogicalResult lowerGatherLike(Operation *op, Value table, Value ids,
                                     int64_t axis, Lowering &l) {
  // A stored table may be narrower than f32 (widened as it is read), and
  // may be stored only as GEMM panels.
  WeightOp tableOp = storedWeight(table);
  bool panels = isa<EmbeddingOp>(op) && tableOp && l.onlyInPanels(tableOp);
  int64_t nr = l.options.gemmNR;
  Value tableMem = panels    ? l.gemmPanels(tableOp, /*kn=*/false, nr)
                   : tableOp ? l.lookup(tableOp)
                             : l.lookup(table);
  Type resultElt =
      cast<RankedTensorType>(op->getResult(0).getType()).getElementType();
  auto widen = [&](OpBuilder &nb, Location loc, Value v) -> Value {
    return v.getType() == resultElt
               ? v
               : arith::ExtFOp::create(nb, loc, resultElt, v).getResult();
  };
  Value idsMem = l.lookup(ids);
  Value result = op->getResult(0);
  auto rt = cast<RankedTensorType>(result.getType());
  MLIRContext *ctx = l.b.getContext();
  int64_t rank = rt.getRank();
  int64_t idsRank = cast<MemRefType>(idsMem.getType()).getRank();
  // Dynamic sizes: leading and trailing dimensions from the table, the
  // middle ones from the ids.
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (!rt.isDynamicDim(i))
      continue;
    if (i >= axis && i < axis + idsRank)
      sizes.push_back(l.dim(idsMem, i - axis));
    else // (weights are static, so this is an activation)
      sizes.push_back(l.dim(l.lookup(table), i < axis ? i : i - idsRank + 1));
  }
  Value out = l.allocFor(result, sizes);
  SmallVector<AffineExpr> idExprs;
  for (int64_t i = 0; i < idsRank; ++i)
    idExprs.push_back(getAffineDimExpr(axis + i, ctx));
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, idExprs, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  int64_t tableRank = cast<RankedTensorType>(table.getType()).getRank();
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{idsMem}, ValueRange{out}, maps, iters,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value row =
            arith::IndexCastOp::create(nb, loc, nb.getIndexType(), args[0]);
        if (panels) {
          Value width = arith::ConstantIndexOp::create(nb, loc, nr);
          Value col = linalg::IndexOp::create(nb, loc, idsRank);
          Value v = memref::LoadOp::create(
              nb, loc, tableMem,
              ValueRange{arith::DivUIOp::create(nb, loc, row, width), col,
                         arith::RemUIOp::create(nb, loc, row, width)});
          linalg::YieldOp::create(nb, loc, widen(nb, loc, v));
          return;
        }
        SmallVector<Value> idx;
        for (int64_t i = 0; i < axis; ++i)
          idx.push_back(linalg::IndexOp::create(nb, loc, i));
        idx.push_back(row);
        for (int64_t i = axis + 1; i < tableRank; ++i)
          idx.push_back(linalg::IndexOp::create(nb, loc, i - 1 + idsRank));
        Value v = memref::LoadOp::create(nb, loc, tableMem, idx);
        linalg::YieldOp::create(nb, loc, widen(nb, loc, v));
      });
  l.bind(result, out);
  return success();
}

//===----------------------------------------------------------------------===//
// Masks and positions
//===----------------------------------------------------------------------===//

static LogicalResult lowerPositionalEncoding(PositionalEncodingOp op,
                                             Lowering &l) {
  RankedTensorType t = op.getType();
  int64_t d = t.getDimSize(1);
  // The table is computed at compile time (in double precision) and stored
  // with the weights; the op is a view of rows [offset, offset + seq).
  Value table = l.generatedTable(WeightLayout::sinusoidal, d,
                                 op.getBase().convertToDouble());
  OpFoldResult offset = l.b.getIndexAttr(0);
  if (Value off = l.scalar(op.getOffset()))
    offset = off;
  OpFoldResult len = t.isDynamicDim(0)
                         ? OpFoldResult(l.scalar(op.getDynamicSizes()[0]))
                         : l.b.getIndexAttr(t.getDimSize(0));
  Value view = memref::SubViewOp::create(
      l.b, table, ArrayRef<OpFoldResult>{offset, l.b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{len, l.b.getIndexAttr(d)},
      ArrayRef<OpFoldResult>{l.b.getIndexAttr(1), l.b.getIndexAttr(1)});
  l.bind(op, view);
  return success();
}

/// out[b, s, h, j] from x[b, s, h, j], its partner (rotate-half: j +- R/2;
/// interleaved: j ^ 1) and row offset + s of the planned cos | sin table;
/// features j >= R pass through.
/// The partner and table indices are clamped into range for every j so
/// that the loads stay in bounds where the select discards them.
static LogicalResult lowerRotary(RotaryOp op, Lowering &l) {
  RankedTensorType t = op.getType();
  int64_t r = op.getRotaryDims(), half = r / 2;
  Value table =
      l.generatedTable(WeightLayout::rotary, r, op.getBase().convertToDouble(),
                       op.getPositionScaling());
  Value x = l.lookup(op.getInput());
  Value out = l.allocFor(op, l.dynamicSizesLike(t, x));
  Value offset = l.scalar(op.getOffset());
  Type elt = t.getElementType(), f32 = l.b.getF32Type();
  MLIRContext *ctx = l.b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{x}, ValueRange{out},
      SmallVector<AffineMap>{id, id}, iters,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        auto idx = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, loc, v).getResult();
        };
        SmallVector<Value> iv;
        for (int64_t i = 0; i < 4; ++i)
          iv.push_back(linalg::IndexOp::create(nb, loc, i));
        Value j = iv[3];
        Value p =
            offset ? arith::AddIOp::create(nb, loc, iv[1], offset) : iv[1];
        Value rotated = arith::CmpIOp::create(
            nb, loc, arith::CmpIPredicate::ult, j, idx(r));
        // first: the element that subtracts; i: its pair's frequency.
        Value first, i, partner;
        if (op.getInterleaved()) {
          first = arith::CmpIOp::create(
              nb, loc, arith::CmpIPredicate::eq,
              arith::RemUIOp::create(nb, loc, j, idx(2)), idx(0));
          i = arith::MinUIOp::create(nb, loc,
                                     arith::DivUIOp::create(nb, loc, j, idx(2)),
                                     idx(half - 1));
          partner = arith::MinUIOp::create(
              nb, loc,
              arith::SelectOp::create(
                  nb, loc, first, arith::AddIOp::create(nb, loc, j, idx(1)),
                  arith::SubIOp::create(nb, loc, j, idx(1))),
              idx(t.getDimSize(3) - 1));
        } else {
          first = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, j,
                                        idx(half));
          i = arith::RemUIOp::create(nb, loc, j, idx(half));
          partner = arith::SelectOp::create(
              nb, loc, first, arith::AddIOp::create(nb, loc, j, idx(half)),
              arith::SubIOp::create(nb, loc, j, idx(half)));
        }
        Value c = memref::LoadOp::create(nb, loc, table, ValueRange{p, i});
        Value s = memref::LoadOp::create(
            nb, loc, table,
            ValueRange{p, arith::AddIOp::create(nb, loc, i, idx(half))});
        Value xv = buildConvert(nb, loc, args[0], f32);
        Value xp = buildConvert(
            nb, loc,
            memref::LoadOp::create(nb, loc, x,
                                   ValueRange{iv[0], iv[1], iv[2], partner}),
            f32);
        // first half: x c - x' s; second half: x c + x' s.
        Value xs = arith::MulFOp::create(nb, loc, xp, s);
        Value xc = arith::MulFOp::create(nb, loc, xv, c);
        Value rot = arith::SelectOp::create(
            nb, loc, first, arith::SubFOp::create(nb, loc, xc, xs),
            arith::AddFOp::create(nb, loc, xc, xs));
        Value v = arith::SelectOp::create(nb, loc, rotated, rot, xv);
        linalg::YieldOp::create(nb, loc, buildConvert(nb, loc, v, elt));
      });
  l.bind(op, out);
  return success();
}

static LogicalResult lowerRange(RangeOp op, Lowering &l) {
  RankedTensorType t = op.getType();
  Value out = l.allocFor(op, l.scalars(op.getDynamicSizes()));
  Value offset = l.scalar(op.getOffset());
  Type elt = t.getElementType();
  MLIRContext *ctx = l.b.getContext();
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{}, ValueRange{out},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(1, ctx)},
      SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location loc, ValueRange) {
        Value i = linalg::IndexOp::create(nb, loc, 0);
        if (offset)
          i = arith::AddIOp::create(nb, loc, i, offset);
        linalg::YieldOp::create(
            nb, loc, Value(arith::IndexCastOp::create(nb, loc, elt, i)));
      });
  l.bind(op, out);
  return success();
}

static LogicalResult lowerCausalMask(CausalMaskOp op, Lowering &l) {
  RankedTensorType t = op.getType();
  Value out = l.allocFor(op, l.scalars(op.getDynamicSizes()));
  Value offset = l.scalar(op.getOffset());
  double value = op.getValue().convertToDouble();
  Type elt = t.getElementType();
  MLIRContext *ctx = l.b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(2, ctx)};
  SmallVector<utils::IteratorType> iters(2, utils::IteratorType::parallel);
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{}, ValueRange{out}, maps, iters,
      [&](OpBuilder &nb, Location loc, ValueRange) {
        Value i = linalg::IndexOp::create(nb, loc, 0);
        Value j = linalg::IndexOp::create(nb, loc, 1);
        if (offset)
          i = arith::AddIOp::create(nb, loc, i, offset);
        Value masked =
            arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ugt, j, i);
        // Sliding window W: also j + W <= i (j <= i - W without going
        // below zero).
        if (std::optional<int64_t> w = op.getWindow()) {
          Value jw = arith::AddIOp::create(
              nb, loc, j, arith::ConstantIndexOp::create(nb, loc, *w));
          masked = arith::OrIOp::create(
              nb, loc, masked,
              arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ule, jw, i));
        }
        Value neg = arith::ConstantOp::create(nb, loc, elt,
                                              nb.getFloatAttr(elt, value));
        Value zero =
            arith::ConstantOp::create(nb, loc, elt, nb.getFloatAttr(elt, 0.0));
        linalg::YieldOp::create(
            nb, loc,
            Value(arith::SelectOp::create(nb, loc, masked, neg, zero)));
      });
  l.bind(op, out);
  return success();
}

static LogicalResult lowerRelativeBias(RelativePositionBiasOp op, Lowering &l) {
  Value out = l.allocFor(op, l.scalars(op.getDynamicSizes()));
  Value table = l.lookup(op.getTable());
  Value offset = l.scalar(op.getOffset());
  bool bidirectional = op.getBidirectional();
  int64_t buckets = op.getNumBuckets();
  int64_t exact = relativeMaxExact(buckets, bidirectional);
  SmallVector<int64_t> thresholds =
      relativeBucketThresholds(buckets, op.getMaxDistance(), bidirectional);
  MLIRContext *ctx = l.b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(4, ctx)};
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{}, ValueRange{out}, maps, iters,
      [&](OpBuilder &nb, Location loc, ValueRange) {
        auto cst = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, loc, v).getResult();
        };
        auto cmp = [&](arith::CmpIPredicate p, Value a, Value b) {
          return arith::CmpIOp::create(nb, loc, p, a, b).getResult();
        };
        auto pick = [&](Value c, Value a, Value b) {
          return arith::SelectOp::create(nb, loc, c, a, b).getResult();
        };
        Value h = linalg::IndexOp::create(nb, loc, 1);
        Value i = linalg::IndexOp::create(nb, loc, 2);
        Value j = linalg::IndexOp::create(nb, loc, 3);
        if (offset)
          i = arith::AddIOp::create(nb, loc, i, offset);
        // rel = key - query; a = |rel| (bidirectional) or max(-rel, 0).
        Value rel = arith::SubIOp::create(nb, loc, j, i);
        Value neg = arith::SubIOp::create(nb, loc, cst(0), rel);
        Value a = bidirectional
                      ? Value(arith::MaxSIOp::create(nb, loc, rel, neg))
                      : Value(arith::MaxSIOp::create(nb, loc, neg, cst(0)));
        Value far = cst(exact);
        for (int64_t t : thresholds)
          far = arith::AddIOp::create(
              nb, loc, far,
              pick(cmp(arith::CmpIPredicate::sge, a, cst(t)), cst(1), cst(0)));
        Value bucket =
            pick(cmp(arith::CmpIPredicate::slt, a, cst(exact)), a, far);
        if (bidirectional)
          bucket = arith::AddIOp::create(
              nb, loc, bucket,
              pick(cmp(arith::CmpIPredicate::sgt, rel, cst(0)),
                   cst(buckets / 2), cst(0)));
        Value v = memref::LoadOp::create(nb, loc, table, ValueRange{bucket, h});
        linalg::YieldOp::create(nb, loc, v);
      });
  l.bind(op, out);
  return success();
}

static LogicalResult lowerPaddingMask(PaddingMaskOp op, Lowering &l) {
  RankedTensorType t = op.getType();
  Value in = l.lookup(op.getInput());
  SmallVector<Value> sizes;
  if (t.isDynamicDim(0))
    sizes.push_back(l.dim(in, 0));
  if (t.isDynamicDim(3))
    sizes.push_back(l.dim(in, 1));
  Value out = l.allocFor(op, sizes);
  Type elt = t.getElementType();
  double value = op.getValue().convertToDouble();
  MLIRContext *ctx = l.b.getContext();
  // out[b, 0, 0, k] reads in[b, k].
  SmallVector<AffineMap> maps = {
      AffineMap::get(4, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(3, ctx)},
                     ctx),
      AffineMap::getMultiDimIdentityMap(4, ctx)};
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{in}, ValueRange{out}, maps, iters,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value m = args[0];
        Value isPad;
        if (isa<FloatType>(m.getType()))
          isPad = arith::CmpFOp::create(
              nb, loc, arith::CmpFPredicate::OEQ, m,
              arith::ConstantOp::create(nb, loc, m.getType(),
                                        nb.getFloatAttr(m.getType(), 0.0)));
        else
          isPad = arith::CmpIOp::create(
              nb, loc, arith::CmpIPredicate::eq, m,
              arith::ConstantOp::create(nb, loc, m.getType(),
                                        nb.getIntegerAttr(m.getType(), 0)));
        Value neg = arith::ConstantOp::create(nb, loc, elt,
                                              nb.getFloatAttr(elt, value));
        Value zero =
            arith::ConstantOp::create(nb, loc, elt, nb.getFloatAttr(elt, 0.0));
        linalg::YieldOp::create(
            nb, loc, Value(arith::SelectOp::create(nb, loc, isPad, neg, zero)));
      });
  l.bind(op, out);
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <typename OpTy>
static LogicalResult lowerReduce(OpTy op, Lowering &l) {
  RankedTensorType rt = op.getType();
  if (!rt.hasStaticShape())
    return op.emitOpError("dynamic reductions are not supported yet");
  Value in = l.lookup(op.getInput());
  Value out = l.allocFor(op);
  Type elt = rt.getElementType();
  bool isMax = std::is_same_v<OpTy, ReduceMaxOp>;
  double init = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
  Value initV =
      arith::ConstantOp::create(l.b, elt, l.b.getFloatAttr(elt, init));
  linalg::FillOp::create(l.b, ValueRange{initV}, ValueRange{out});

  MLIRContext *ctx = l.b.getContext();
  auto inType = cast<MemRefType>(in.getType());
  int64_t rank = inType.getRank();
  ArrayRef<int64_t> axes = op.getAxes();
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = llvm::is_contained(axes, i);
    iters.push_back(reduced ? utils::IteratorType::reduction
                            : utils::IteratorType::parallel);
    if (!reduced)
      outExprs.push_back(getAffineDimExpr(i, ctx));
    else if (op.getKeepDims())
      outExprs.push_back(getAffineConstantExpr(0, ctx));
  }
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  linalg::GenericOp::create(
      l.b, TypeRange{}, ValueRange{in}, ValueRange{out}, maps, iters,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value r =
            isMax ? Value(arith::MaximumFOp::create(nb, loc, args[0], args[1]))
                  : Value(arith::AddFOp::create(nb, loc, args[0], args[1]));
        linalg::YieldOp::create(nb, loc, r);
      });
  if constexpr (std::is_same_v<OpTy, ReduceMeanOp>) {
    int64_t count = 1;
    for (int64_t a : axes)
      count *= inType.getDimSize(a);
    Value inv =
        arith::ConstantOp::create(l.b, elt, l.b.getFloatAttr(elt, 1.0 / count));
    int64_t outRank = rt.getRank();
    SmallVector<AffineMap> m = {
        AffineMap::getMultiDimIdentityMap(outRank, ctx)};
    SmallVector<utils::IteratorType> it(outRank, utils::IteratorType::parallel);
    linalg::GenericOp::create(
        l.b, TypeRange{}, ValueRange{}, ValueRange{out}, m, it,
        [&](OpBuilder &nb, Location loc, ValueRange args) {
          linalg::YieldOp::create(
              nb, loc, Value(arith::MulFOp::create(nb, loc, args[0], inv)));
        });
  }
  l.bind(op, out);
  return success();
}

LogicalResult mlir::tfm::cpu::lowerMisc(Operation *op, Lowering &l) {
  if (auto c = dyn_cast<ConstantOp>(op))
    return lowerConstant(c, l);
  if (auto e = dyn_cast<EmbeddingOp>(op))
    return lowerGatherLike(op, e.getTable(), e.getIds(), 0, l);
  if (auto g = dyn_cast<GatherOp>(op))
    return lowerGatherLike(op, g.getInput(), g.getIndices(), g.getAxis(), l);
  if (auto p = dyn_cast<PositionalEncodingOp>(op))
    return lowerPositionalEncoding(p, l);
  if (auto r = dyn_cast<RotaryOp>(op))
    return lowerRotary(r, l);
  if (auto c = dyn_cast<CausalMaskOp>(op))
    return lowerCausalMask(c, l);
  if (auto r = dyn_cast<RelativePositionBiasOp>(op))
    return lowerRelativeBias(r, l);
  if (auto r = dyn_cast<RangeOp>(op))
    return lowerRange(r, l);
  if (auto p = dyn_cast<PaddingMaskOp>(op))
    return lowerPaddingMask(p, l);
  if (auto r = dyn_cast<ReduceMaxOp>(op))
    return lowerReduce(r, l);
  if (auto r = dyn_cast<ReduceSumOp>(op))
    return lowerReduce(r, l);
  if (auto r = dyn_cast<ReduceMeanOp>(op))
    return lowerReduce(r, l);
  return op->emitOpError("is not supported by the CPU backend");
}
