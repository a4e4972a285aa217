//===- FuseResidualNorm.cpp - add + norm -> tfm.add_{layer,rms}_norm ------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#define DEBUG_TYPE "tfm-fuse-residual-norm"

namespace mlir::tfm {
#define GEN_PASS_DEF_FUSERESIDUALNORMPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

/// " in [scope]" when the add comes from another part of the model than the
/// norm (a pre-LN model's first norm reads the embedding sum).
static std::string addScope(Operation *add, Operation *norm) {
  std::string scope = scopeName(add->getLoc());
  if (scope.empty() || scope == scopeName(norm->getLoc()))
    return "";
  return " in [" + scope + "]";
}

namespace {
// Pattern: layer_norm(add(x, r)) -> add_layer_norm(x, r)#0, with every other
//          use of the sum reading add_layer_norm(x, r)#1 (same for rms_norm)
template <typename NormOp, typename FusedOp>
struct FuseResidualNorm final : OpRewritePattern<NormOp> {
  FuseResidualNorm(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : OpRewritePattern<NormOp>(ctx), control(std::move(control)),
        remarks(remarks) {}

  LogicalResult matchAndRewrite(NormOp norm,
                                PatternRewriter &rewriter) const override {
    auto add = norm.getInput().template getDefiningOp<AddOp>();
    if (!add)
      return rewriter.notifyMatchFailure(norm, "input is not tfm.add");
    if (control && !control(norm))
      return rewriter.notifyMatchFailure(norm, "excluded by the control function");
    StringRef into = FusedOp::getOperationName();
    if (add.getLhs().getType() != add.getType() ||
        add.getRhs().getType() != add.getType())
      return refuse(rewriter, remarks, norm, into,
                    "the add" + addScope(add, norm) +
                        " broadcasts one operand, so it is not a residual "
                        "connection");

    // The fused op replaces the add, so the norm's parameters must be
    // available there; parameters (weights, constants) defined later are
    // moved up, anything else computed after the add is refused.
    SmallVector<Value> params = {norm.getScale()};
    if constexpr (std::is_same_v<NormOp, LayerNormOp>)
      params.push_back(norm.getBias());
    SmallVector<Operation *> moveUp;
    for (Value param : params) {
      Operation *def = param ? param.getDefiningOp() : nullptr;
      if (!def || def->getBlock() != add->getBlock() ||
          def->isBeforeInBlock(add))
        continue;
      if (def->getNumOperands() != 0 || !isPure(def))
        return refuse(rewriter, remarks, norm, into,
                      "the norm's scale/bias is computed after the add");
      moveUp.push_back(def);
    }
    for (Operation *def : moveUp)
      rewriter.moveOpBefore(def, add);

    rewriter.setInsertionPoint(add);
    FusedOp fused;
    if constexpr (std::is_same_v<FusedOp, AddLayerNormOp>)
      fused = FusedOp::create(rewriter, norm.getLoc(),
                              TypeRange{add.getType(), add.getType()},
                              add.getLhs(), add.getRhs(), norm.getScale(),
                              norm.getBias(), norm.getAxisAttr(),
                              norm.getEpsilonAttr());
    else
      fused = FusedOp::create(rewriter, norm.getLoc(),
                              TypeRange{add.getType(), add.getType()},
                              add.getLhs(), add.getRhs(), norm.getScale(),
                              norm.getAxisAttr(), norm.getEpsilonAttr());
    rewriter.replaceOp(norm, fused.getOutput());
    rewriter.replaceAllUsesWith(add.getResult(), fused.getSum());
    rewriter.eraseOp(add);
    if (remarks)
      remarks->fused(fused, into);
    return success();
  }

  ControlFn control;
  FusionRemarks *remarks;
};

struct FuseResidualNormPass final
    : tfm::impl::FuseResidualNormPassBase<FuseResidualNormPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateFuseResidualNormPatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateFuseResidualNormPatterns(RewritePatternSet &patterns,
                                                 const ControlFn &control,
                                                 FusionRemarks *remarks) {
  patterns.add<FuseResidualNorm<LayerNormOp, AddLayerNormOp>,
               FuseResidualNorm<RMSNormOp, AddRMSNormOp>>(
      patterns.getContext(), control, remarks);
}
