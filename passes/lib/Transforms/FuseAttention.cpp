//===- FuseAttention.cpp - scaled dot-product attention -> tfm.attention --===//
//
// Part of tfmc. The pattern is rooted at `matmul(softmax(scores), V)`. The
// scores expression is peeled from the softmax down to `Q K^T`: every
// constant scale met on the way multiplies the attention scale and the masks
// added above it, so "scale then mask", "mask then scale" and pre-scaled Q or
// K all reduce to `Q K^T * scale + mask`. Head split/merge reshapes and
// transposes are absorbed when all of them are present.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/ShapeUtils.h"
#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#define DEBUG_TYPE "tfm-fuse-attention"

namespace mlir::tfm {
#define GEN_PASS_DEF_FUSEATTENTIONPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr StringLiteral kInto = "tfm.attention";

/// An additive mask below which positions count as masked out (-1e9 in the
/// paper; anything this negative underflows exp() in every float type).
static constexpr double kMaskedOut = -1.0e4;

namespace {

/// The peeled scores expression `qk * scale + sum(mask_i * mult_i)`.
struct Scores {
  MatmulOp qk;
  /// Grouped-query attention: the reshape of the [B, kv, groups, Sq, Sk]
  /// product back to [B, heads, Sq, Sk] (null otherwise).
  ReshapeOp ungroup;
  double scale = 1.0;
  struct Mask {
    Value value;
    double mult;
  };
  SmallVector<Mask> masks;
  std::string error; // why peeling stopped, when it did
};

/// Peels scales and mask additions from `v` down to the Q K^T product.
/// `mult` is the product of the scales applied above `v`.
bool peel(Value v, double mult, Scores &out) {
  Operation *op = v.getDefiningOp();
  if (auto mm = dyn_cast_or_null<MatmulOp>(op)) {
    if (!mm->hasOneUse()) {
      out.error = "the scores Q K^T have another use";
      return false;
    }
    out.qk = mm;
    out.scale = mult;
    return true;
  }
  if (!op) {
    out.error = "the scores are not computed from Q K^T";
    return false;
  }
  if (!op->hasOneUse()) {
    out.error = "an intermediate of the scores ('" +
                op->getName().getStringRef().str() + "') has another use";
    return false;
  }
  if (std::optional<Scaled> s = matchScaled(v))
    return peel(s->input, mult * s->factor, out);
  if (auto rs = dyn_cast<ReshapeOp>(op)) {
    auto mm = rs.getInput().getDefiningOp<MatmulOp>();
    if (mm && mm.getType().getRank() == 5 && rs.getType().getRank() == 4) {
      if (!mm->hasOneUse()) {
        out.error = "the scores Q K^T have another use";
        return false;
      }
      out.qk = mm;
      out.ungroup = rs;
      out.scale = mult;
      return true;
    }
  }
  if (auto add = dyn_cast<AddOp>(op)) {
    // One operand continues the scores, the other is a mask. A mask that
    // broadcasts the scores to a larger shape is not an attention mask.
    std::string broadcastError, lastError;
    for (auto [scores, mask] : {std::pair{add.getLhs(), add.getRhs()},
                                std::pair{add.getRhs(), add.getLhs()}}) {
      if (scores.getType() != v.getType()) {
        broadcastError =
            "the mask of shape " +
            formatShape(cast<ShapedType>(mask.getType()).getShape()) +
            " broadcasts the scores of shape " +
            formatShape(cast<ShapedType>(scores.getType()).getShape()) +
            " to a larger shape";
        continue;
      }
      Scores trial = out;
      trial.masks.push_back({mask, mult});
      if (peel(scores, mult, trial)) {
        out = std::move(trial);
        return true;
      }
      lastError = trial.error;
    }
    out.error = broadcastError.empty() ? lastError : broadcastError;
    return false;
  }
  if (isa<MulOp, DivOp>(op)) {
    out.error = "the scores are scaled by a value that is not a compile-time "
                "constant";
    return false;
  }
  out.error = "the scores go through '" + op->getName().getStringRef().str() +
              "', which is neither a constant scale nor a mask addition";
  return false;
}

/// `x` split into heads: transpose(reshape(x, [B, S, H, D]), perm) with
/// perm [0, 2, 1, 3] ([B, H, S, D]) or, for a pre-transposed key,
/// [0, 2, 3, 1] ([B, H, D, S]).
struct SplitHeads {
  Value input;
  int64_t heads;
};
std::optional<SplitHeads> matchSplitHeads(Value v, ArrayRef<int64_t> perm) {
  auto tr = v.getDefiningOp<TransposeOp>();
  if (!tr || tr.getPermutation() != perm || !tr->hasOneUse())
    return std::nullopt;
  auto rs = tr.getInput().getDefiningOp<ReshapeOp>();
  if (!rs || !rs->hasOneUse())
    return std::nullopt;
  ArrayRef<int64_t> in = rs.getInput().getType().getShape();
  ArrayRef<int64_t> out = rs.getType().getShape();
  if (in.size() != 3 || out.size() != 4 || in[0] != out[0] || in[1] != out[1] ||
      ShapedType::isDynamic(out[2]) || ShapedType::isDynamic(out[3]) ||
      in[2] != out[2] * out[3])
    return std::nullopt;
  return SplitHeads{rs.getInput(), out[2]};
}

/// `x` = reshape(x4 [B, H, S, D] -> [B, H / g, g, S, D]): a grouped-query
/// view (g = 1 for the key/value side); returns x4.
Value matchGroupView(Value x, int64_t g) {
  auto rs = x.getDefiningOp<ReshapeOp>();
  if (!rs || !rs->hasOneUse())
    return Value();
  ArrayRef<int64_t> in = rs.getInput().getType().getShape();
  ArrayRef<int64_t> out = rs.getType().getShape();
  if (in.size() != 4 || out.size() != 5 || in[0] != out[0] ||
      ShapedType::isDynamic(in[1]) || out[1] * out[2] != in[1] || out[2] != g ||
      in[2] != out[3] || in[3] != out[4])
    return Value();
  return rs.getInput();
}

/// The merge-heads reshape after `o`: reshape(transpose(o, [0,2,1,3]),
/// [B, S, H*D]).
ReshapeOp matchMergeHeads(Value o) {
  if (!o.hasOneUse())
    return ReshapeOp();
  auto tr = dyn_cast<TransposeOp>(*o.getUsers().begin());
  if (!tr || tr.getPermutation() != ArrayRef<int64_t>{0, 2, 1, 3} ||
      !tr->hasOneUse())
    return ReshapeOp();
  auto rs = dyn_cast<ReshapeOp>(*tr->getUsers().begin());
  if (!rs)
    return ReshapeOp();
  ArrayRef<int64_t> in = tr.getType().getShape();
  ArrayRef<int64_t> out = rs.getType().getShape();
  if (out.size() != 3 || out[0] != in[0] || out[1] != in[1] ||
      ShapedType::isDynamic(in[2]) || ShapedType::isDynamic(in[3]) ||
      out[2] != in[2] * in[3])
    return ReshapeOp();
  return rs;
}

// Pattern: matmul(softmax(Q K^T * scale + mask, key axis), V) -> attention
struct FuseAttention final : OpRewritePattern<MatmulOp> {
  FuseAttention(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : OpRewritePattern(ctx), control(std::move(control)), remarks(remarks) {}

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    // Grouped-query attention: the probabilities enter P V through a
    // [B, kv, groups, Sq, Sk] view.
    auto probsGroup = pv.getLhs().getDefiningOp<ReshapeOp>();
    auto softmax = probsGroup ? probsGroup.getInput().getDefiningOp<SoftmaxOp>()
                              : pv.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax || pv.getTransposeLhs())
      return rewriter.notifyMatchFailure(pv, "left operand is not a softmax");
    if (control && !control(pv))
      return rewriter.notifyMatchFailure(pv,
                                         "excluded by the control function");
    Operation *anchor = pv;
    auto refuseWith = [&](const Twine &why) {
      return refuse(rewriter, remarks, anchor, kInto, why);
    };

    int64_t rank = softmax.getType().getRank();
    if (rank != 3 && rank != 4)
      return refuseWith(
          "the scores are neither [B, H, Sq, Sk] nor [B, Sq, Sk]");
    if (static_cast<int64_t>(softmax.getAxis()) != rank - 1)
      return refuseWith("the softmax axis " + Twine(softmax.getAxis()) +
                        " is not the key axis " + Twine(rank - 1));
    if (!softmax->hasOneUse() || (probsGroup && !probsGroup->hasOneUse()))
      return refuseWith("the attention probabilities have another use");
    if (pv.getTransposeRhs())
      return refuseWith("V is used transposed");

    Scores scores;
    if (!peel(softmax.getInput(), 1.0, scores))
      return refuseWith(scores.error);
    MatmulOp qk = scores.qk;
    if (qk.getTransposeLhs())
      return refuseWith("Q is used transposed in the score product");

    // Q (and K) may be pre-scaled.
    double scale = scores.scale;
    Value qh = qk.getLhs(), kh = qk.getRhs(), vh = pv.getRhs();
    bool keyTransposed = !qk.getTransposeRhs();

    // Grouped-query attention: undo the group views of Q, K, V, P and of
    // the result; the fused op reads K and V heads directly.
    int64_t groups = 1;
    ReshapeOp ungroupOut;
    if (probsGroup || scores.ungroup) {
      auto pg =
          probsGroup ? probsGroup.getType().getShape() : ArrayRef<int64_t>{};
      if (!probsGroup || !scores.ungroup || rank != 4 || pg.size() != 5 ||
          ShapedType::isDynamic(pg[2]))
        return refuseWith("grouped-query attention needs the same "
                          "[B, kv, groups, Sq, Sk] view of the scores and "
                          "the probabilities");
      groups = pg[2];
      if (keyTransposed)
        return refuseWith("grouped-query attention with a pre-transposed key");
      Value q4 = matchGroupView(qh, groups), k4 = matchGroupView(kh, 1),
            v4 = matchGroupView(vh, 1);
      if (!q4 || !k4 || !v4)
        return refuseWith("the grouped-query views of Q, K or V are not "
                          "[B, H, S, D] -> [B, kv, groups (Q) or 1, S, D]");
      if (!pv->hasOneUse() || !isa<ReshapeOp>(*pv->getUsers().begin()))
        return refuseWith("the grouped-query result is not reshaped back to "
                          "[B, heads, Sq, D]");
      ungroupOut = cast<ReshapeOp>(*pv->getUsers().begin());
      if (ungroupOut.getType().getRank() != 4)
        return refuseWith("the grouped-query result is not reshaped back to "
                          "[B, heads, Sq, D]");
      qh = q4, kh = k4, vh = v4;
    }
    SmallVector<Operation *> preScales;
    auto unscale = [&](Value &v) {
      if (std::optional<Scaled> s = matchScaled(v); s && v.hasOneUse()) {
        scale *= s->factor;
        v = s->input;
      }
    };
    unscale(qh);
    unscale(kh);
    if (!(scale > 0.0))
      return refuseWith("the attention scale " + formatNumber(scale) +
                        " is not positive");
    for (Value v : {kh, vh})
      if (elementTypeOf(v) != elementTypeOf(qh))
        return refuseWith("query, key and value element types differ");

    // Split the masks into the causal flag and additive mask operands; no IR
    // is created until every check has passed.
    bool causal = false;
    Value offset;
    IntegerAttr window;
    SmallVector<Scores::Mask> plain;
    std::optional<SmallVector<int64_t>> maskShape;
    for (Scores::Mask &m : scores.masks) {
      if (elementTypeOf(m.value) != elementTypeOf(qh))
        return refuseWith("the mask element type differs from the scores'");
      auto cm = m.value.getDefiningOp<CausalMaskOp>();
      if (cm && !causal &&
          cm.getValue().convertToDouble() * m.mult <= kMaskedOut) {
        causal = true;
        offset = cm.getOffset();
        window = cm.getWindowAttr();
        continue;
      }
      ArrayRef<int64_t> shape = cast<ShapedType>(m.value.getType()).getShape();
      if (!maskShape) {
        maskShape = SmallVector<int64_t>(shape);
      } else {
        std::string err;
        FailureOr<SmallVector<int64_t>> b = broadcastShapes(
            *maskShape, shape, [&](const Twine &e) { err = e.str(); });
        if (failed(b))
          return refuseWith("two masks do not broadcast together: " + err);
        maskShape = *b;
      }
      plain.push_back(m);
    }
    // [B, Sq, Sk] scores gain a unit head dimension in the fused op.
    bool reshapeMask = rank == 3 && maskShape && maskShape->size() == 3;
    if (reshapeMask)
      maskShape->insert(maskShape->begin() + 1, 1);

    // Heads: absorbed when every operand is split and the result merged.
    std::optional<SplitHeads> qs, ks, vs;
    ReshapeOp merge;
    if (rank == 4) {
      qs = matchSplitHeads(qh, {0, 2, 1, 3});
      ks = matchSplitHeads(kh, keyTransposed ? ArrayRef<int64_t>{0, 2, 3, 1}
                                             : ArrayRef<int64_t>{0, 2, 1, 3});
      vs = matchSplitHeads(vh, {0, 2, 1, 3});
      merge =
          matchMergeHeads(ungroupOut ? ungroupOut.getResult() : pv.getResult());
    }
    bool folded = qs && ks && vs && merge && ks->heads == vs->heads &&
                  qs->heads == ks->heads * groups;
    Value q, k, v;
    int64_t heads;
    SmallVector<int64_t> swap = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(swap[rank - 1], swap[rank - 2]);
    bool transposeKey = false;
    SmallVector<int64_t> kShape(cast<ShapedType>(kh.getType()).getShape());
    if (folded) {
      q = qs->input, k = ks->input, v = vs->input;
      heads = qs->heads;
      kShape.assign(cast<ShapedType>(k.getType()).getShape().begin(),
                    cast<ShapedType>(k.getType()).getShape().end());
    } else {
      if (keyTransposed) {
        // K^T: use the K it was transposed from, or transpose it back (a
        // layout change the kernels absorb).
        auto kt = kh.getDefiningOp<TransposeOp>();
        if (kt && kt.getPermutation() == ArrayRef<int64_t>(swap) &&
            kt->hasOneUse())
          kh = kt.getInput();
        else
          transposeKey = true;
        std::swap(kShape[rank - 1], kShape[rank - 2]);
      }
      q = qh, k = kh, v = vh;
      heads =
          rank == 4 ? cast<RankedTensorType>(qh.getType()).getDimSize(1) : 1;
    }
    int64_t kvHeads = heads / groups;

    // Check the fused op's shape rules before building anything.
    std::string why;
    FailureOr<AttentionDims> dims = inferAttentionDims(
        cast<ShapedType>(q.getType()).getShape(), kShape,
        cast<ShapedType>(v.getType()).getShape(), heads,
        [&](const Twine &m) { why = m.str(); }, kvHeads);
    if (failed(dims))
      return refuseWith(why);
    if (maskShape) {
      SmallVector<int64_t> st = {dims->batch, dims->heads, dims->querySeq,
                                 dims->keySeq};
      if (!isBroadcastableTo(*maskShape, st))
        return refuseWith("the mask of shape " + formatShape(*maskShape) +
                          " does not broadcast to the scores " +
                          formatShape(st));
    }

    // Build: the combined mask, the key layout, the fused op.
    Location loc = pv.getLoc();
    rewriter.setInsertionPoint(pv);
    Value mask;
    for (Scores::Mask &m : plain) {
      Value mv = m.value;
      if (m.mult != 1.0)
        mv = ScaleOp::create(rewriter, loc, mv,
                             rewriter.getF64FloatAttr(m.mult));
      mask = mask ? AddOp::create(rewriter, loc, mask, mv).getResult() : mv;
    }
    if (reshapeMask) {
      auto mt = cast<RankedTensorType>(mask.getType());
      mask = ReshapeOp::create(rewriter, loc, mt.clone(*maskShape), mask);
    }
    if (transposeKey) {
      rewriter.setInsertionPoint(qk);
      k = TransposeOp::create(rewriter, loc, k, swap);
    }

    Operation *replaced = folded       ? merge.getOperation()
                          : ungroupOut ? ungroupOut.getOperation()
                                       : pv.getOperation();
    rewriter.setInsertionPoint(replaced);
    auto attn = AttentionOp::create(
        rewriter, loc, replaced->getResult(0).getType(), q, k, v, mask, offset,
        rewriter.getI64IntegerAttr(heads), rewriter.getF64FloatAttr(scale),
        causal ? rewriter.getUnitAttr() : UnitAttr(),
        groups > 1 ? rewriter.getI64IntegerAttr(kvHeads) : IntegerAttr(),
        window);
    rewriter.replaceOp(replaced, attn.getResult());
    if (remarks)
      remarks->fused(attn, kInto);
    return success();
  }

  ControlFn control;
  FusionRemarks *remarks;
};

struct FuseAttentionPass final
    : tfm::impl::FuseAttentionPassBase<FuseAttentionPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateFuseAttentionPatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                              const ControlFn &control,
                                              FusionRemarks *remarks) {
  patterns.add<FuseAttention>(patterns.getContext(), control, remarks);
}
