//===- RecomposeSoftmax.cpp - primitives back into tfm.softmax ------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#define DEBUG_TYPE "tfm-recompose-softmax"

namespace mlir::tfm {
#define GEN_PASS_DEF_RECOMPOSESOFTMAXPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr StringLiteral kInto = "tfm.softmax";

namespace {
/// Recomposes `e / s` or `e * (1 / s)` where `e = exp(x [- max(x)])` and
/// `s = sum(e)` over one kept axis. `root` is the division or multiplication;
/// `reciprocal` the `1 / s` op of the second form.
LogicalResult recompose(Operation *root, ExpOp exp, Value den,
                        Operation *reciprocal, PatternRewriter &rewriter,
                        FusionRemarks *remarks) {
  auto refuseWith = [&](const Twine &why) {
    return refuse(rewriter, remarks, root, kInto, why);
  };
  auto sum = den.getDefiningOp<ReduceSumOp>();
  if (!sum || sum.getInput() != exp.getResult())
    return refuseWith("the denominator is not the sum of the exponentials");
  if (sum.getAxes().size() != 1)
    return refuseWith("the sum reduces more than one axis");
  if (!sum.getKeepDims())
    return refuseWith("the sum does not keep the reduced dimension");
  int64_t axis = sum.getAxes()[0];
  if (!onlyUsedBy(exp.getResult(), {sum, root}))
    return refuseWith("the exponentials have another use");
  if (!sum->hasOneUse())
    return refuseWith("the sum has another use");
  if (reciprocal && !reciprocal->hasOneUse())
    return refuseWith("the reciprocal of the sum has another use");

  Value x = exp.getInput();
  if (auto sub = x.getDefiningOp<SubOp>()) {
    auto max = sub.getRhs().getDefiningOp<ReduceMaxOp>();
    if (max && max.getInput() == sub.getLhs()) {
      if (max.getAxes() != ArrayRef<int64_t>{axis} || !max.getKeepDims())
        return refuseWith("the maximum is not taken over the softmax axis");
      if (!sub->hasOneUse())
        return refuseWith("x - max(x) has another use");
      if (!max->hasOneUse())
        return refuseWith("max(x) has another use");
      x = sub.getLhs();
    }
  }
  if (root->getResult(0).getType() != x.getType())
    return refuseWith("the normalisation broadcasts beyond the input shape");
  auto softmax = rewriter.replaceOpWithNewOp<SoftmaxOp>(
      root, x, rewriter.getI64IntegerAttr(axis));
  if (remarks)
    remarks->fused(softmax, kInto);
  return success();
}

// Pattern: div(exp(x - max(x)), sum(exp(...))) -> softmax(x)
struct SoftmaxFromDivision final : OpRewritePattern<DivOp> {
  SoftmaxFromDivision(MLIRContext *ctx, ControlFn control,
                      FusionRemarks *remarks)
      : OpRewritePattern(ctx), control(std::move(control)), remarks(remarks) {}

  LogicalResult matchAndRewrite(DivOp div,
                                PatternRewriter &rewriter) const override {
    auto exp = div.getLhs().getDefiningOp<ExpOp>();
    if (!exp)
      return rewriter.notifyMatchFailure(div, "numerator is not tfm.exp");
    if (control && !control(div))
      return rewriter.notifyMatchFailure(div, "excluded by the control function");
    return recompose(div, exp, div.getRhs(), nullptr, rewriter, remarks);
  }

  ControlFn control;
  FusionRemarks *remarks;
};

// Pattern: mul(exp(x), div(1, sum(exp(x)))) -> softmax(x)
struct SoftmaxFromReciprocal final : OpRewritePattern<MulOp> {
  SoftmaxFromReciprocal(MLIRContext *ctx, ControlFn control,
                        FusionRemarks *remarks)
      : OpRewritePattern(ctx), control(std::move(control)), remarks(remarks) {}

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    for (auto [e, r] : {std::pair{mul.getLhs(), mul.getRhs()},
                        std::pair{mul.getRhs(), mul.getLhs()}}) {
      auto exp = e.getDefiningOp<ExpOp>();
      auto recip = r.getDefiningOp<DivOp>();
      if (!exp || !recip || getSplatValue(recip.getLhs()) != 1.0)
        continue;
      if (control && !control(mul))
        return rewriter.notifyMatchFailure(mul,
                                           "excluded by the control function");
      return recompose(mul, exp, recip.getRhs(), recip, rewriter, remarks);
    }
    return rewriter.notifyMatchFailure(mul, "not exp(x) * (1 / s)");
  }

  ControlFn control;
  FusionRemarks *remarks;
};

struct RecomposeSoftmaxPass final
    : tfm::impl::RecomposeSoftmaxPassBase<RecomposeSoftmaxPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateRecomposeSoftmaxPatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateRecomposeSoftmaxPatterns(RewritePatternSet &patterns,
                                                 const ControlFn &control,
                                                 FusionRemarks *remarks) {
  patterns.add<SoftmaxFromDivision, SoftmaxFromReciprocal>(
      patterns.getContext(), control, remarks);
}
