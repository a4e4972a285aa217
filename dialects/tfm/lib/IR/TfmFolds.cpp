//===- TfmFolds.cpp - tfm folders and canonicalisation patterns -----------===//
//
// Part of tfmc. Local algebra only: identities that make the IR smaller
// without changing a single result bit (except x + 0.0 for x = -0.0, whose
// sign no tfm consumer observes).
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::tfm;

/// True when `attr` is a float splat equal to `value`.
static bool isFloatSplat(Attribute attr, double value) {
  auto dense = dyn_cast_or_null<DenseFPElementsAttr>(attr);
  if (!dense || !dense.isSplat())
    return false;
  return dense.getSplatValue<APFloat>().convertToDouble() == value;
}

/// Folds `op(x, c)` to `x` when `c` is the splat `identity` and the result has
/// x's type (so broadcasting does not change the shape).
template <typename OpTy>
static OpFoldResult foldRightIdentity(OpTy op, Attribute rhs, double identity) {
  if (isFloatSplat(rhs, identity) && op.getLhs().getType() == op.getType())
    return op.getLhs();
  return {};
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

// Pattern: add(x, 0) -> x ; add(0, x) -> x
OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r = foldRightIdentity(*this, adaptor.getRhs(), 0.0))
    return r;
  if (isFloatSplat(adaptor.getLhs(), 0.0) && getRhs().getType() == getType())
    return getRhs();
  return {};
}

// Pattern: sub(x, 0) -> x
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldRightIdentity(*this, adaptor.getRhs(), 0.0);
}

// Pattern: mul(x, 1) -> x ; mul(1, x) -> x
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r = foldRightIdentity(*this, adaptor.getRhs(), 1.0))
    return r;
  if (isFloatSplat(adaptor.getLhs(), 1.0) && getRhs().getType() == getType())
    return getRhs();
  return {};
}

// Pattern: div(x, 1) -> x
OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldRightIdentity(*this, adaptor.getRhs(), 1.0);
}

// Pattern: scale(x, 1) -> x
OpFoldResult ScaleOp::fold(FoldAdaptor) {
  if (getFactor().convertToDouble() == 1.0)
    return getInput();
  return {};
}

namespace {
// Pattern: scale(scale(x, a), b) -> scale(x, a * b)
struct ComposeScales final : OpRewritePattern<ScaleOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ScaleOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ScaleOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "input is not a tfm.scale");
    double factor =
        inner.getFactor().convertToDouble() * op.getFactor().convertToDouble();
    rewriter.replaceOpWithNewOp<ScaleOp>(op, inner.getInput(),
                                         rewriter.getF64FloatAttr(factor));
    return success();
  }
};

// Pattern: reshape(splat constant) -> splat constant of the new shape
struct ReshapeSplatConstant final : OpRewritePattern<ReshapeOp> {
  using Base::Base;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    DenseElementsAttr value;
    if (!matchPattern(op.getInput(), m_Constant(&value)) || !value.isSplat())
      return rewriter.notifyMatchFailure(op, "input is not a splat constant");
    if (!op.getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "result shape is dynamic");
    rewriter.replaceOpWithNewOp<ConstantOp>(
        op,
        DenseElementsAttr::get(op.getType(), value.getSplatValue<Attribute>()));
    return success();
  }
};
} // namespace

void ScaleOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<ComposeScales>(context);
}

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<ReshapeSplatConstant>(context);
}

// Pattern: reshape(x : T) -> T is x ; reshape(reshape(x)) -> reshape(x)
OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // The composition of two valid reshapes is valid (verifyReshapeShapes'
  // rules are transitive).
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

// Pattern: transpose(x, identity) -> x ;
//          transpose(transpose(x, p1), p2) -> transpose(x, p1 o p2)
OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return getInput();
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> innerPerm = inner.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(innerPerm[p]);
    getInputMutable().assign(inner.getInput());
    setPermutation(composed);
    if (llvm::equal(composed, llvm::seq<int64_t>(0, composed.size())))
      return getInput();
    return getResult();
  }
  return {};
}

// Pattern: concat(x) -> x
OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  return {};
}

// Pattern: slice(x, whole dimension) -> x
OpFoldResult SliceOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType() && !getOffset())
    return getInput();
  return {};
}

/// True when converting from `from` to `to` loses nothing.
static bool isExactWidening(Type from, Type to) {
  auto ff = dyn_cast<FloatType>(from), tf = dyn_cast<FloatType>(to);
  if (ff && tf)
    return ff.getWidth() < tf.getWidth() &&
           ff.getFPMantissaWidth() <= tf.getFPMantissaWidth();
  if (!ff && !tf)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth();
  return false;
}

// Pattern: convert(x : T) -> T is x ;
//          convert(convert(x : A) -> B) -> A is x when A -> B is exact
OpFoldResult ConvertOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto inner = getInput().getDefiningOp<ConvertOp>()) {
    Type a = inner.getInput().getType();
    if (a == getType() && isExactWidening(getElementTypeOrSelf(a),
                                          inner.getType().getElementType()))
      return inner.getInput();
  }
  return {};
}
