//===- LegalizeMath.cpp - vectorisable math for the CPU -------------------===//
//
// Part of tfmc. exp, tanh, erf, log, ... become MLIR's polynomial
// approximations (measured against float64: exp 0.7 ulp, tanh 2.7e-7, erf
// 2.4e-7 on f32), which vectorise; libm calls would not. sin and cos stay
// libm calls: the polynomial forms reduce the argument in f32 and lose
// ~4e-4 absolute at the angles rotary embeddings reach (|x| ~ 1000).
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
    // Names as the patterns pass them ("math.exp"); sqrt and rsqrt stay
    // exact (LLVM emits vsqrtps and a divide).
    auto approximate = [](StringRef name) {
      return llvm::is_contained(
          {"math.acos", "math.asin", "math.atan", "math.atan2", "math.cbrt",
           "math.erf", "math.erfc", "math.exp", "math.expm1", "math.log",
           "math.log1p", "math.log2", "math.tanh"},
          name);
    };
    populateMathF32ExpansionPatterns(patterns, approximate);
    populateMathPolynomialApproximationPatterns(patterns, approximate);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
