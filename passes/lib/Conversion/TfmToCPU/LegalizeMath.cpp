//===- LegalizeMath.cpp - vectorisable math for the CPU -------------------===//
//
// Part of tfmc. exp, tanh, erf, log, ... become MLIR's polynomial
// approximations (measured against float64: exp 0.7 ulp, tanh 2.7e-7, erf
// 2.4e-7 on f32), which vectorise; libm calls would not.
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "tfm-cpu-legalize-math"

namespace mlir::tfm {
#define GEN_PASS_DEF_LEGALIZEMATHFORCPUPASS
#include "tfm/Conversion/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {
struct LegalizeMathForCPUPass final
    : tfm::impl::LegalizeMathForCPUPassBase<LegalizeMathForCPUPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
