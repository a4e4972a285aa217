//===- RecomposeActivations.cpp - expanded GELU/SiLU back into tfm ops ----===//
//
// Part of tfmc. Matching is algebraic: a product is flattened into its
// factors and constant (through tfm.mul, tfm.scale and division by
// constants), so any grouping and order exporters choose is recognised.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"


#include <cmath>

#define DEBUG_TYPE "tfm-recompose-activations"

namespace mlir::tfm {
#define GEN_PASS_DEF_RECOMPOSEACTIVATIONSPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {
/// A product `constant * factors[0] * factors[1] * ...`.
struct Product {
  double constant = 1.0;
  SmallVector<Value> factors;
};

/// Flattens `v` through shape-preserving multiplications; ops other than
/// the root are only looked through when `v` is their only use.
Product flatten(Value v, bool isRoot = true) {
  Product p;
  std::function<void(Value, bool)> walk = [&](Value x, bool root) {
    Operation *op = x.getDefiningOp();
    bool through = op && (root || op->hasOneUse());
    if (through) {
      if (std::optional<Scaled> s = matchScaled(x)) {
        p.constant *= s->factor;
        walk(s->input, false);
        return;
      }
      if (auto mul = dyn_cast<MulOp>(op);
          mul && mul.getLhs().getType() == x.getType() &&
          mul.getRhs().getType() == x.getType()) {
        walk(mul.getLhs(), false);
        walk(mul.getRhs(), false);
        return;
      }
    }
    p.factors.push_back(x);
  };
  walk(v, isRoot);
  return p;
}

/// `1 + f(y)` where f is the given unary op: returns y.
template <typename OpTy>
Value matchOnePlus(Value v) {
  std::optional<std::pair<Value, double>> a = matchAddConstant(v);
  if (!a || a->second != 1.0)
    return Value();
  auto op = a->first.getDefiningOp<OpTy>();
  return op ? op.getInput() : Value();
}

/// Whether `v` is x^3: pow(x, 3) or a product x*x*x.
bool isCube(Value v, Value x) {
  if (auto pow = v.getDefiningOp<PowOp>())
    return pow.getLhs() == x && getSplatValue(pow.getRhs()) == 3.0;
  Product p = flatten(v, false);
  return p.constant == 1.0 && p.factors.size() == 3 &&
         llvm::all_of(p.factors, [&](Value f) { return f == x; });
}

// Pattern: 0.5 * x * (1 + erf(x / sqrt(2)))                         -> gelu
// Pattern: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))  -> gelu tanh
// Pattern: x * sigmoid(x)                                           -> silu
struct RecomposeActivation final : RewritePattern {
  RecomposeActivation(MLIRContext *ctx, ControlFn control,
                      FusionRemarks *remarks)
      : RewritePattern(MatchAnyOpTypeTag(), 1, ctx),
        control(std::move(control)), remarks(remarks) {}

  LogicalResult matchAndRewrite(Operation *root,
                                PatternRewriter &rewriter) const override {
    if (!isa<MulOp, ScaleOp, DivOp>(root))
      return rewriter.notifyMatchFailure(root, "not a product");
    Value out = root->getResult(0);
    Product p = flatten(out);
    if (p.factors.size() != 2)
      return rewriter.notifyMatchFailure(root, "not a product of two factors");
    if (control && !control(root))
      return rewriter.notifyMatchFailure(root, "excluded by the control function");
    // A factor of a larger product is tried too (it may be an activation
    // multiplied by something else), but only the outermost product is a
    // site worth a remark.
    Operation *user = root->hasOneUse() ? *root->getUsers().begin() : nullptr;
    bool inner = user && isa<MulOp, ScaleOp, DivOp>(user) &&
                 user->getResult(0).getType() == out.getType();
    auto refuseAs = [&](StringRef into, const Twine &why) {
      if (inner)
        return rewriter.notifyMatchFailure(root, why);
      return refuse(rewriter, remarks, root, into, why);
    };

    for (int i = 0; i < 2; ++i) {
      Value x = p.factors[i], other = p.factors[1 - i];
      if (x.getType() != out.getType())
        continue;
      // SiLU: x * sigmoid(x).
      if (auto sig = other.getDefiningOp<SigmoidOp>();
          sig && sig.getInput() == x && p.constant == 1.0) {
        if (!sig->hasOneUse())
          return refuseAs("tfm.silu",
                        "the sigmoid has another use");
        replace(root, SiluOp::create(rewriter, root->getLoc(), x), rewriter);
        return success();
      }
      // GELU, erf form.
      if (Value arg = matchOnePlus<ErfOp>(other)) {
        Product inner = flatten(arg, false);
        if (inner.factors.size() != 1 || inner.factors[0] != x)
          return refuseAs("tfm.gelu",
                        "the erf argument is not a multiple of x");
        if (!approxEqual(inner.constant, M_SQRT1_2))
          return refuseAs("tfm.gelu",
                        "the erf argument is x * " + formatNumber(inner.constant) +
                            ", not x / sqrt(2)");
        if (!approxEqual(p.constant, 0.5))
          return refuseAs("tfm.gelu",
                        "the constant factor is " + formatNumber(p.constant) +
                            ", not 0.5");
        replace(root,
                GeluOp::create(rewriter, root->getLoc(), x,
                                        GeluApproximation::erf),
                rewriter);
        return success();
      }
      // GELU, tanh form.
      if (Value arg = matchOnePlus<TanhOp>(other)) {
        Product u = flatten(arg, false);
        auto poly = u.factors.size() == 1 ? u.factors[0].getDefiningOp<AddOp>()
                                          : AddOp();
        bool ok = poly && approxEqual(u.constant, std::sqrt(2.0 / M_PI));
        if (ok) {
          Value cubic = poly.getLhs() == x   ? poly.getRhs()
                        : poly.getRhs() == x ? poly.getLhs()
                                             : Value();
          Product c = cubic ? flatten(cubic, false) : Product();
          // The cube is one factor (pow(x, 3)) or already flattened to x*x*x.
          bool cube =
              (c.factors.size() == 1 && isCube(c.factors[0], x)) ||
              (c.factors.size() == 3 &&
               llvm::all_of(c.factors, [&](Value f) { return f == x; }));
          ok = cubic && cube && approxEqual(c.constant, 0.044715);
        }
        if (!ok)
          return refuseAs("tfm.gelu",
                        "the tanh argument is not sqrt(2/pi) * (x + 0.044715 "
                        "* x^3)");
        if (!approxEqual(p.constant, 0.5))
          return refuseAs("tfm.gelu",
                        "the constant factor is " + formatNumber(p.constant) +
                            ", not 0.5");
        replace(root,
                GeluOp::create(rewriter, root->getLoc(), x,
                                        GeluApproximation::tanh),
                rewriter);
        return success();
      }
    }
    return rewriter.notifyMatchFailure(root, "no activation factor");
  }

  void replace(Operation *root, Operation *act, PatternRewriter &rewriter) const {
    rewriter.replaceOp(root, act->getResults());
    if (remarks)
      remarks->fused(act, act->getName().getStringRef());
  }

  ControlFn control;
  FusionRemarks *remarks;
};

struct RecomposeActivationsPass final
    : tfm::impl::RecomposeActivationsPassBase<RecomposeActivationsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateRecomposeActivationsPatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateRecomposeActivationsPatterns(
    RewritePatternSet &patterns, const ControlFn &control,
    FusionRemarks *remarks) {
  patterns.add<RecomposeActivation>(patterns.getContext(), control, remarks);
}
