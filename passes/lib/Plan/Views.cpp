//===- Views.cpp - which results are views, what layouts kernels need -----===//
//
// Part of tfmc. The shared kernel contract: for each op operand the layout
// every target's kernel accepts (Plan.h, LayoutNeed), and which ops produce
// views instead of writing memory.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"
#include "tfm/Transforms/Transforms.h"

using namespace mlir;
using namespace mlir::tfm;

bool mlir::tfm::isViewOp(Operation *op) {
  return isa<ReshapeOp, TransposeOp, SliceOp, CacheWriteOp>(op);
}

bool mlir::tfm::isLoadFusedConvert(Operation *op) {
  auto c = dyn_cast_or_null<ConvertOp>(op);
  if (!c || !c.getInput().getDefiningOp<WeightOp>())
    return false;
  auto from = dyn_cast<FloatType>(c.getInput().getType().getElementType());
  auto to = dyn_cast<FloatType>(c.getType().getElementType());
  return from && to && to.isF32() && from.getWidth() < 32 &&
         isReadByGemmOrGather(c.getResult());
}

WeightOp mlir::tfm::storedWeight(Value v) {
  if (auto w = v.getDefiningOp<WeightOp>())
    return w;
  Operation *def = v.getDefiningOp();
  if (isLoadFusedConvert(def))
    return def->getOperand(0).getDefiningOp<WeightOp>();
  return WeightOp();
}

LayoutNeed mlir::tfm::layoutNeed(OpOperand &operand) {
  Operation *op = operand.getOwner();
  if (auto lin = dyn_cast<LinearOp>(op)) {
    if (operand.get() == lin.getInput())
      return LayoutNeed::Rows;
    if (operand.get() == lin.getWeight())
      return LayoutNeed::Any; // a weight is packed, an activation read strided
    return LayoutNeed::Contiguous; // bias, epilogue inputs
  }
  if (isa<MatmulOp>(op))
    return LayoutNeed::Batched;
  if (auto a = dyn_cast<AttentionOp>(op))
    return operand.get() == a.getMask() ? LayoutNeed::Contiguous
                                        : LayoutNeed::Any;
  if (isa<SoftmaxOp, LayerNormOp, RMSNormOp, AddLayerNormOp, AddRMSNormOp,
          MoEGateOp, MoEOp>(op))
    return LayoutNeed::Contiguous;
  if (isa<ReshapeOp>(op))
    return LayoutNeed::Contiguous;
  return LayoutNeed::Any;
}
