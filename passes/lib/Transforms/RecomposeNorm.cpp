//===- RecomposeNorm.cpp - expanded norms back into tfm norm ops ----------===//
//
// Part of tfmc. The pattern is rooted at the normalising op (the division by
// the standard deviation, or the multiplication by its reciprocal), matches
// the statistics above it, then absorbs the affine scale and bias below it.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#define DEBUG_TYPE "tfm-recompose-norm"

namespace mlir::tfm {
#define GEN_PASS_DEF_RECOMPOSENORMPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr StringLiteral kInto = "tfm.layer_norm/tfm.rms_norm";

namespace {

/// `v = t * t` or `v = t ^ 2`: returns t and the squaring op.
std::optional<std::pair<Value, Operation *>> matchSquare(Value v) {
  if (auto mul = v.getDefiningOp<MulOp>(); mul && mul.getLhs() == mul.getRhs())
    return std::make_pair(mul.getLhs(), mul.getOperation());
  if (auto pow = v.getDefiningOp<PowOp>(); pow && getSplatValue(pow.getRhs()) == 2.0 &&
                                            pow.getLhs().getType() == v.getType())
    return std::make_pair(pow.getLhs(), pow.getOperation());
  return std::nullopt;
}

/// The axis `a` when `axes` is exactly [a, rank).
std::optional<int64_t> trailingAxis(ArrayRef<int64_t> axes, int64_t rank) {
  if (axes.empty())
    return std::nullopt;
  SmallVector<int64_t> sorted(axes);
  llvm::sort(sorted);
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != rank - static_cast<int64_t>(sorted.size()) + static_cast<int64_t>(i))
      return std::nullopt;
  return sorted.front();
}

struct NormMatch {
  Value input;
  int64_t axis;
  double eps;
  bool centred; // layer_norm (x - mean) or rms_norm
};

// Pattern: x - mean(x) normalised by sqrt(mean((x - mean(x))^2) + eps)
//          [* scale] [+ bias]                       -> tfm.layer_norm
// Pattern: x normalised by sqrt(mean(x^2) + eps) [* scale] -> tfm.rms_norm
struct RecomposeNorm final : RewritePattern {
  RecomposeNorm(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx),
        control(std::move(control)), remarks(remarks) {}

  LogicalResult matchAndRewrite(Operation *root,
                                PatternRewriter &rewriter) const override {
    // Candidate: c / sqrt(s), c * rsqrt(s) or c * (1 / sqrt(s)) where s is
    // something plus a constant.
    Value c, stats;
    SmallVector<Operation *> chain; // ops between the statistics and root
    if (auto div = dyn_cast<DivOp>(root)) {
      auto sq = div.getRhs().getDefiningOp<SqrtOp>();
      if (!sq)
        return rewriter.notifyMatchFailure(root, "divisor is not tfm.sqrt");
      c = div.getLhs();
      stats = sq.getInput();
      chain.push_back(sq);
    } else if (auto mul = dyn_cast<MulOp>(root)) {
      for (auto [a, b] : {std::pair{mul.getLhs(), mul.getRhs()},
                          std::pair{mul.getRhs(), mul.getLhs()}}) {
        if (auto rs = b.getDefiningOp<RsqrtOp>()) {
          c = a, stats = rs.getInput();
          chain = {rs};
          break;
        }
        auto recip = b.getDefiningOp<DivOp>();
        if (recip && getSplatValue(recip.getLhs()) == 1.0)
          if (auto sq = recip.getRhs().getDefiningOp<SqrtOp>()) {
            c = a, stats = sq.getInput();
            chain = {recip, sq};
            break;
          }
      }
      if (!c)
        return rewriter.notifyMatchFailure(root, "no rsqrt/reciprocal factor");
    } else {
      return rewriter.notifyMatchFailure(root, "not a division or product");
    }
    if (c.getType() != root->getResult(0).getType())
      return rewriter.notifyMatchFailure(root, "the normalised value is "
                                               "broadcast (not a norm)");
    std::optional<std::pair<Value, double>> plusEps = matchAddConstant(stats);
    if (!plusEps)
      return rewriter.notifyMatchFailure(root, "no epsilon added to the "
                                               "statistics");
    if (control && !control(root))
      return rewriter.notifyMatchFailure(root, "excluded by the control function");
    auto refuseWith = [&](const Twine &why) {
      return refuse(rewriter, remarks, root, kInto, why);
    };

    // From here on this is a normalisation candidate. The variance is
    // either two-pass, mean((x - mean(x))^2), or one-pass,
    // mean(x^2) - mean(x)^2 (ONNX's LayerNormalization expansion).
    if (plusEps->second < 0.0)
      return refuseWith("epsilon is negative");
    Value var = plusEps->first;
    chain.push_back(stats.getDefiningOp());
    NormMatch m{c, 0, plusEps->second, false};
    ReduceMeanOp stat;      // the mean of squares
    Operation *square;      // its squaring op
    SmallVector<Operation *> centreUsers; // ops allowed to read x - mean(x)
    if (auto meanSq = var.getDefiningOp<ReduceMeanOp>()) {
      std::optional<std::pair<Value, Operation *>> sq =
          matchSquare(meanSq.getInput());
      if (!sq || sq->first != c)
        return refuseWith("the mean is not over the square of the normalised "
                          "value");
      stat = meanSq, square = sq->second;
      chain.append({meanSq, square});
      centreUsers = {square, root};
      if (auto sub = c.getDefiningOp<SubOp>()) {
        auto mean = sub.getRhs().getDefiningOp<ReduceMeanOp>();
        if (mean && mean.getInput() == sub.getLhs()) {
          if (mean.getAxes() != meanSq.getAxes() || !mean.getKeepDims())
            return refuseWith("the mean and the variance use different axes");
          if (!mean->hasOneUse())
            return refuseWith("the mean has another use");
          m.input = sub.getLhs();
          m.centred = true;
        }
      }
    } else if (auto diff = var.getDefiningOp<SubOp>()) {
      auto meanSq = diff.getLhs().getDefiningOp<ReduceMeanOp>();
      std::optional<std::pair<Value, Operation *>> sqOfMean =
          matchSquare(diff.getRhs());
      auto dev = c.getDefiningOp<SubOp>();
      ReduceMeanOp mean =
          sqOfMean ? sqOfMean->first.getDefiningOp<ReduceMeanOp>() : ReduceMeanOp();
      std::optional<std::pair<Value, Operation *>> sqOfX =
          meanSq ? matchSquare(meanSq.getInput()) : std::nullopt;
      if (!meanSq || !mean || !dev || !sqOfX || dev.getRhs() != mean ||
          dev.getLhs() != mean.getInput() || sqOfX->first != mean.getInput())
        return refuseWith("the statistics are neither mean((x - mean)^2) nor "
                          "mean(x^2) - mean(x)^2 of the normalised input");
      if (mean.getAxes() != meanSq.getAxes() || !mean.getKeepDims())
        return refuseWith("the mean and the variance use different axes");
      if (!onlyUsedBy(mean.getResult(), {sqOfMean->second, dev}))
        return refuseWith("the mean has another use");
      stat = meanSq, square = sqOfX->second;
      chain.append({diff, meanSq, square, sqOfMean->second});
      centreUsers = {root};
      m.input = mean.getInput();
      m.centred = true;
    } else {
      return refuseWith("the statistics are not a mean of squares");
    }
    int64_t rank = cast<RankedTensorType>(c.getType()).getRank();
    std::optional<int64_t> axis = trailingAxis(stat.getAxes(), rank);
    if (!axis)
      return refuseWith("the statistics are not taken over trailing axes");
    if (!stat.getKeepDims())
      return refuseWith("the statistics do not keep the reduced dimensions");
    m.axis = *axis;

    // Every intermediate feeds only the next step (the input itself may be
    // used elsewhere, e.g. by a residual add).
    if (m.centred && !onlyUsedBy(c, centreUsers))
      return refuseWith("x - mean(x) has another use");
    for (Operation *op : chain)
      if (!op->hasOneUse())
        return refuseWith("the intermediate '" + op->getName().getStringRef() +
                          "' has another use");
    if (root->getResult(0).getType() != m.input.getType())
      return refuseWith("the normalisation broadcasts beyond the input shape");

    // Absorb `* scale` and `+ bias` of the normalised shape.
    ArrayRef<int64_t> shape = cast<RankedTensorType>(m.input.getType()).getShape();
    ArrayRef<int64_t> normShape = shape.drop_front(m.axis);
    // A parameter of the normalised shape, possibly with leading unit
    // dimensions ([1, N] after ONNX's Flatten).
    auto paramOf = [&](Operation *op, Value from) -> Value {
      if (op->getResult(0).getType() != from.getType())
        return Value();
      for (Value operand : op->getOperands()) {
        ArrayRef<int64_t> ps = cast<RankedTensorType>(operand.getType()).getShape();
        while (ps.size() > normShape.size() && ps.front() == 1)
          ps = ps.drop_front();
        if (operand != from && ps == normShape)
          return operand;
      }
      return Value();
    };
    Operation *last = root;
    Value scale, bias;
    if (root->hasOneUse())
      if (auto mul = dyn_cast<MulOp>(*root->getUsers().begin()))
        if ((scale = paramOf(mul, root->getResult(0))))
          last = mul;
    if (m.centred && last->hasOneUse())
      if (auto add = dyn_cast<AddOp>(*last->getUsers().begin()))
        if ((bias = paramOf(add, last->getResult(0))))
          last = add;

    rewriter.setInsertionPoint(last);
    auto toNormShape = [&](Value param) -> Value {
      auto pt = cast<RankedTensorType>(param.getType());
      if (pt.getShape() == normShape)
        return param;
      return ReshapeOp::create(rewriter, root->getLoc(), pt.clone(normShape),
                               param);
    };
    if (scale)
      scale = toNormShape(scale);
    if (bias)
      bias = toNormShape(bias);
    Type t = m.input.getType();
    Operation *norm;
    if (m.centred)
      norm = LayerNormOp::create(rewriter, root->getLoc(), t, m.input, scale,
                                 bias, rewriter.getI64IntegerAttr(m.axis),
                                 rewriter.getF64FloatAttr(m.eps));
    else
      norm = RMSNormOp::create(rewriter, root->getLoc(), t, m.input, scale,
                               rewriter.getI64IntegerAttr(m.axis),
                               rewriter.getF64FloatAttr(m.eps));
    rewriter.replaceOp(last, norm->getResults());
    if (remarks)
      remarks->fused(norm, norm->getName().getStringRef());
    return success();
  }

  ControlFn control;
  FusionRemarks *remarks;
};

struct RecomposeNormPass final
    : tfm::impl::RecomposeNormPassBase<RecomposeNormPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateRecomposeNormPatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateRecomposeNormPatterns(RewritePatternSet &patterns,
                                              const ControlFn &control,
                                              FusionRemarks *remarks) {
  patterns.add<RecomposeNorm>(patterns.getContext(), control, remarks);
}
