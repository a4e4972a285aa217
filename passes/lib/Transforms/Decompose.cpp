//===- Decompose.cpp - expand composite tfm ops ---------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "tfm-decompose"

namespace mlir::tfm {
#define GEN_PASS_DEF_DECOMPOSEPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {
struct DecomposeAggregate final
    : OpInterfaceRewritePattern<linalg::AggregatedOpInterface> {
  DecomposeAggregate(MLIRContext *ctx, ControlFn control)
      : OpInterfaceRewritePattern(ctx), control(std::move(control)) {}

  LogicalResult matchAndRewrite(linalg::AggregatedOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!isa<TfmDialect>(op->getDialect()))
      return rewriter.notifyMatchFailure(op, "not a tfm op");
    if (control && !control(op))
      return rewriter.notifyMatchFailure(op, "excluded by the control function");
    FailureOr<SmallVector<Value>> values = op.decomposeOperation(rewriter);
    if (failed(values))
      return rewriter.notifyMatchFailure(op, "op has nothing to decompose");
    rewriter.replaceOp(op, *values);
    return success();
  }

  ControlFn control;
};

struct DecomposePass final : tfm::impl::DecomposePassBase<DecomposePass> {
  using Base::Base;

  void runOnOperation() override {
    llvm::StringSet<> selected;
    for (const std::string &name : ops)
      selected.insert(name);
    ControlFn control;
    if (!selected.empty())
      control = [selected = std::move(selected)](Operation *op) {
        return selected.contains(op->getName().stripDialect());
      };
    RewritePatternSet patterns(&getContext());
    populateDecomposePatterns(patterns, control);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateDecomposePatterns(RewritePatternSet &patterns,
                                          const ControlFn &control) {
  patterns.add<DecomposeAggregate>(patterns.getContext(), control);
}
