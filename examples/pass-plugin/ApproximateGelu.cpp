//===- ApproximateGelu.cpp - an out-of-tree tfm pass as a plugin ----------===//
//
// Part of tfmc's examples. Built as a shared library and loaded with
// `tfmc-opt --load-pass-plugin=libTfmApproximateGelu.so` (or tfmc's option of
// the same name). The tfm dialect's symbols come from the loading tool, so
// the plugin links nothing of tfmc itself.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Config/llvm-config.h"

#define DEBUG_TYPE "tfm-approximate-gelu"

namespace mlir::tfm_plugin {
#define GEN_PASS_DECL
#define GEN_PASS_DEF_APPROXIMATEGELUPASS
#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"
} // namespace mlir::tfm_plugin

using namespace mlir;

namespace {
// Pattern: gelu(x) -> gelu(x) approximate tanh
struct ApproximateGelu final : OpRewritePattern<tfm::GeluOp> {
  ApproximateGelu(MLIRContext *ctx, int64_t minElements)
      : OpRewritePattern(ctx), minElements(minElements) {}

  LogicalResult matchAndRewrite(tfm::GeluOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getApproximate() == tfm::GeluApproximation::tanh)
      return rewriter.notifyMatchFailure(op, "already the tanh form");
    if (!op.getType().hasStaticShape() ||
        op.getType().getNumElements() < minElements)
      return rewriter.notifyMatchFailure(op, "fewer elements than min-elements");
    rewriter.modifyOpInPlace(
        op, [&] { op.setApproximate(tfm::GeluApproximation::tanh); });
    return success();
  }

  int64_t minElements;
};

struct ApproximateGeluPass final
    : tfm_plugin::impl::ApproximateGeluPassBase<ApproximateGeluPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ApproximateGelu>(&getContext(), minElements);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

/// The plugin's entry point: registers the pass with the loading tool.
extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "TfmApproximateGelu", LLVM_VERSION_STRING,
          [] { tfm_plugin::registerApproximateGeluPass(); }};
}
