//===- ShapeOps.cpp - reshape, transpose, slice and concat ----------------===//
//
// Part of tfmc. Reshapes, transposes and slices are views (tfm-plan-views
// made every reshape's operand dense); cache writes update their cache in
// place; concatenations and tfm.copy copy.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

/// Groups of consecutive dimensions, each ending in (or, for the last,
/// containing) one dynamic dimension: [1, 2, 3, ?, 5, ?] ->
/// {0, 1, 2, 3}, {4, 5}.
static SmallVector<ReassociationIndices>
dynamicGroups(ArrayRef<int64_t> shape) {
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t i = 0, e = shape.size(); i < e; ++i) {
    if (groups.back().size() &&
        ShapedType::isDynamic(shape[groups.back().back()]))
      groups.emplace_back();
    groups.back().push_back(i);
  }
  // Trailing static dimensions join the last dynamic group.
  if (groups.size() > 1 && llvm::none_of(groups.back(), [&](int64_t d) {
        return ShapedType::isDynamic(shape[d]);
      })) {
    ReassociationIndices tail = groups.pop_back_val();
    groups.back().append(tail.begin(), tail.end());
  }
  return groups;
}

/// A reshape keeping several dynamic dimensions in order (the verifier):
/// collapse each group around one dynamic dimension, then expand the same
/// groups of the result; both are views of a contiguous buffer.
/// memref.expand_shape of `src` to `shape`; the result keeps the source's
/// offset and strides (a dense view inside a larger buffer, e.g. the key
/// part of a merged QKV projection).
static Value expandShape(Lowering &l, Value src, ArrayRef<int64_t> shape,
                         ArrayRef<ReassociationIndices> groups,
                         ArrayRef<OpFoldResult> sizes) {
  FailureOr<MemRefType> type = memref::ExpandShapeOp::computeExpandedType(
      cast<MemRefType>(src.getType()), shape, groups);
  assert(succeeded(type) && "a dense view always expands");
  return memref::ExpandShapeOp::create(l.b, *type, src, groups, sizes);
}

static LogicalResult lowerGroupedReshape(ReshapeOp op, Value in, Lowering &l) {
  RankedTensorType out = op.getType();
  auto inType = cast<MemRefType>(in.getType());
  Value collapsed = memref::CollapseShapeOp::create(
      l.b, in, dynamicGroups(inType.getShape()));
  SmallVector<OpFoldResult> sizes;
  unsigned next = 0;
  for (int64_t d : out.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      sizes.push_back(l.b.getIndexAttr(d));
      continue;
    }
    while (!inType.isDynamicDim(next))
      ++next;
    sizes.push_back(l.dim(in, next++));
  }
  l.bind(op, expandShape(l, collapsed, out.getShape(),
                         dynamicGroups(out.getShape()), sizes));
  return success();
}

static LogicalResult lowerReshape(ReshapeOp op, Lowering &l) {
  Value in = l.contiguous(l.lookup(op.getInput()));
  auto inType = cast<MemRefType>(in.getType());
  RankedTensorType out = op.getType();
  if (out.getNumDynamicDims() > 1)
    return lowerGroupedReshape(op, in, l);
  // Collapse to one dimension, then expand to the result shape: both are
  // views of a contiguous buffer.
  Value flat = in;
  if (inType.getRank() != 1) {
    SmallVector<ReassociationIndices> all(1);
    for (int64_t i = 0; i < inType.getRank(); ++i)
      all[0].push_back(i);
    flat = inType.getRank() == 0
               ? expandShape(l, in, {1}, {}, {l.b.getIndexAttr(1)})
               : memref::CollapseShapeOp::create(l.b, in, all).getResult();
  }
  if (out.getRank() == 1 &&
      cast<MemRefType>(flat.getType()).getShape() == out.getShape()) {
    l.bind(op, flat);
    return success();
  }
  SmallVector<OpFoldResult> sizes;
  int64_t staticProduct = 1;
  for (int64_t d : out.getShape())
    if (!ShapedType::isDynamic(d))
      staticProduct *= d;
  for (int64_t d : out.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      sizes.push_back(l.b.getIndexAttr(d));
      continue;
    }
    Value n = l.dim(flat, 0);
    sizes.push_back(
        arith::DivUIOp::create(
            l.b, n, arith::ConstantIndexOp::create(l.b, staticProduct))
            .getResult());
  }
  if (out.getRank() == 0) {
    auto scalarType = MemRefType::get({}, out.getElementType());
    l.bind(op, memref::CollapseShapeOp::create(
                   l.b, scalarType, flat, ArrayRef<ReassociationIndices>{}));
    return success();
  }
  SmallVector<ReassociationIndices> one(1);
  for (int64_t i = 0; i < out.getRank(); ++i)
    one[0].push_back(i);
  Value view = expandShape(l, flat, out.getShape(), one, sizes);
  l.bind(op, view);
  return success();
}

static LogicalResult lowerTranspose(TransposeOp op, Lowering &l) {
  Value in = l.lookup(op.getInput());
  AffineMap perm =
      AffineMap::getPermutationMap(op.getPermutation(), l.b.getContext());
  l.bind(op, memref::TransposeOp::create(l.b, in, AffineMapAttr::get(perm)));
  return success();
}

static LogicalResult lowerCopy(CopyOp op, Lowering &l) {
  Value in = l.lookup(op.getInput());
  Value out = l.allocFor(op, l.dynamicSizesLike(op.getType(), in));
  linalg::CopyOp::create(l.b, in, out);
  l.bind(op, out);
  return success();
}

static LogicalResult lowerSlice(SliceOp op, Lowering &l) {
  Value in = l.lookup(op.getInput());
  auto inType = cast<MemRefType>(in.getType());
  int64_t rank = inType.getRank(), axis = op.getAxis();
  SmallVector<OpFoldResult> offsets, sizes, strides;
  Value offset = l.scalar(op.getOffset());
  for (int64_t i = 0; i < rank; ++i) {
    if (i == axis && offset)
      offsets.push_back(
          arith::AddIOp::create(
              l.b, offset, arith::ConstantIndexOp::create(l.b, op.getStart()))
              .getResult());
    else
      offsets.push_back(l.b.getIndexAttr(i == axis ? op.getStart() : 0));
    if (i == axis)
      sizes.push_back(l.b.getIndexAttr(op.getEnd() - op.getStart()));
    else if (inType.isDynamicDim(i))
      sizes.push_back(l.dim(in, i));
    else
      sizes.push_back(l.b.getIndexAttr(inType.getDimSize(i)));
    strides.push_back(l.b.getIndexAttr(1));
  }
  l.bind(op, memref::SubViewOp::create(l.b, in, offsets, sizes, strides));
  return success();
}

static LogicalResult lowerConcat(ConcatOp op, Lowering &l) {
  RankedTensorType rt = op.getType();
  if (!rt.hasStaticShape())
    return op.emitOpError("dynamic concatenation is not supported yet");
  Value out = l.allocFor(op);
  int64_t axis = op.getAxis(), offset = 0;
  for (Value v : op.getInputs()) {
    Value in = l.lookup(v);
    auto t = cast<MemRefType>(in.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (int64_t i = 0; i < rt.getRank(); ++i) {
      offsets.push_back(l.b.getIndexAttr(i == axis ? offset : 0));
      sizes.push_back(l.b.getIndexAttr(t.getDimSize(i)));
      strides.push_back(l.b.getIndexAttr(1));
    }
    Value dst = memref::SubViewOp::create(l.b, out, offsets, sizes, strides);
    linalg::CopyOp::create(l.b, in, dst);
    offset += t.getDimSize(axis);
  }
  l.bind(op, out);
  return success();
}

/// Writes the update into the cache's rows [offset, offset + n), in place
/// (tfm-plan-views copied the cache where it is read again).
static LogicalResult lowerCacheWrite(CacheWriteOp op, Lowering &l) {
  Value out = l.lookup(op.getCache());
  Value update = l.lookup(op.getUpdate());
  auto ct = op.getCache().getType();
  int64_t axis = op.getAxis();
  // The runtime checks offset + n <= capacity; clamping keeps a violated
  // check from writing out of bounds.
  Value n = l.dim(update, axis);
  Value room = arith::SubIOp::create(
      l.b, arith::ConstantIndexOp::create(l.b, ct.getDimSize(axis)), n);
  Value offset = arith::MinUIOp::create(l.b, l.scalar(op.getOffset()), room);
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (int64_t i = 0; i < ct.getRank(); ++i) {
    offsets.push_back(i == axis ? OpFoldResult(offset) : l.b.getIndexAttr(0));
    sizes.push_back(i == axis ? OpFoldResult(n)
                              : l.b.getIndexAttr(ct.getDimSize(i)));
    strides.push_back(l.b.getIndexAttr(1));
  }
  Value rows = memref::SubViewOp::create(l.b, out, offsets, sizes, strides);
  linalg::CopyOp::create(l.b, update, rows);
  l.bind(op, out);
  return success();
}

LogicalResult mlir::tfm::cpu::lowerShapeOp(Operation *op, Lowering &l) {
  if (auto c = dyn_cast<CacheWriteOp>(op))
    return lowerCacheWrite(c, l);
  if (auto r = dyn_cast<ReshapeOp>(op))
    return lowerReshape(r, l);
  if (auto c = dyn_cast<CopyOp>(op))
    return lowerCopy(c, l);
  if (auto t = dyn_cast<TransposeOp>(op))
    return lowerTranspose(t, l);
  if (auto s = dyn_cast<SliceOp>(op))
    return lowerSlice(s, l);
  if (auto c = dyn_cast<ConcatOp>(op))
    return lowerConcat(c, l);
  return op->emitOpError("is not supported by the CPU backend");
}
