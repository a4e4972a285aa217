//===- LegalizeForKernels.cpp - decompose ops no target has a kernel for --===//
//
// Part of tfmc. The kernel contract normalises the last dimension; other
// softmax axes are expanded into primitives before planning, as is a
// mixture of experts whose expert weights are computed, not stored.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"
#include "tfm/Transforms/Transforms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "tfm-legalize-for-kernels"

namespace mlir::tfm {
#define GEN_PASS_DEF_LEGALIZEFORKERNELSPASS
#include "tfm/Plan/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

/// True for ops outside the kernel contract.
static bool needsDecomposition(Operation *op) {
  if (auto s = dyn_cast<SoftmaxOp>(op))
    return static_cast<int64_t>(s.getAxis()) != s.getType().getRank() - 1;
  // Expert weights are packed at compile time: computed ones are run densely.
  if (auto moe = dyn_cast<MoEOp>(op))
    return !storedWeight(moe.getGateUp()) || !storedWeight(moe.getDown());
  return false;
}

namespace {
struct LegalizeForKernelsPass final
    : tfm::impl::LegalizeForKernelsPassBase<LegalizeForKernelsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposePatterns(patterns, needsDecomposition);
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};
} // namespace
