//===- RecomposeRotary.cpp - primitives back into tfm.rotary --------------===//
//
// Part of tfmc. Rotary position embeddings arrive from exporters (and from
// tfm-decompose) as primitives: an angle table `A = positions (x) theta`
// ([seq, R/2]), its cosines and sines reshaped to broadcast over
// [batch, seq, heads, R/2 or R], and one of two combinations:
//
//   rotate-half (Hugging Face's apply_rotary_pos_emb):
//     x * C + concat(-x2, x1) * S      C = cos(concat(A, A)), S likewise
//   halves (tfm-decompose's expansion):
//     concat(x1 * c - x2 * s, x2 * c + x1 * s [, x_pass])
//
// with x1, x2 the halves of the rotated features. Both become one
// tfm.rotary; theta must be the geometric table 1 / base^(2i/R) of some
// base (recovered from theta_1 and checked entry by entry), the positions
// tfm.range [+ offset] converted to float [/ scaling].
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/ScalarUtils.h"
#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#include <cmath>

#define DEBUG_TYPE "tfm-recompose-rotary"

namespace mlir::tfm {
#define GEN_PASS_DEF_RECOMPOSEROTARYPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr StringLiteral kInto = "tfm.rotary";

namespace {

/// What an angle table says about the rotation.
struct Angles {
  Value table;  ///< A itself, [seq, half]
  Value offset; ///< the range's offset (null: 0)
  double scaling = 1.0;
  double base = 10000.0;
  int64_t half = 0;
};

/// Looks through the reshapes and element-type conversions between a table
/// and its use.
Value throughViews(Value v) {
  while (true) {
    if (auto r = v.getDefiningOp<ReshapeOp>())
      v = r.getInput();
    else if (auto c = v.getDefiningOp<ConvertOp>())
      v = c.getInput();
    else
      return v;
  }
}

/// `A = positions (x) theta`; a reason in `why` when it is not.
std::optional<Angles> matchAngles(Value a, std::string &why) {
  auto mul = a.getDefiningOp<MulOp>();
  if (!mul) {
    why = "the angles are not positions times frequencies";
    return std::nullopt;
  }
  for (auto [p, t] : {std::pair{mul.getLhs(), mul.getRhs()},
                      std::pair{mul.getRhs(), mul.getLhs()}}) {
    auto theta = throughViews(t).getDefiningOp<ConstantOp>();
    if (!theta)
      continue;
    auto values = dyn_cast<DenseElementsAttr>(theta.getValue());
    if (!values || !values.getElementType().isF32())
      continue;
    Angles out;
    out.table = a;
    out.half = values.getNumElements();
    SmallVector<float> th(values.getValues<float>());
    // theta_i = base^(-2i/R), R = 2 * half: base from theta_1.
    int64_t r = 2 * out.half;
    if (th[0] != 1.0f || (out.half > 1 && !(th[1] > 0.0f && th[1] < 1.0f))) {
      why = "the frequencies are not a rotary table (theta_0 = 1, 0 < theta_1 "
            "< 1)";
      return std::nullopt;
    }
    if (out.half > 1)
      out.base = std::pow(static_cast<double>(th[1]), -0.5 * r);
    auto fits = [&](double base, double tol) {
      for (int64_t i = 0; i < out.half; ++i)
        if (!approxEqual(rotaryTheta(base, i, r), th[i], tol))
          return false;
      return true;
    };
    if (!fits(out.base, 1e-5)) {
      why = "the frequencies are not 1 / base^(2i/" + std::to_string(r) +
            ") for one base";
      return std::nullopt;
    }
    // theta_1 is rounded to f32: the base it gives is off in the last
    // digits. The round number that reproduces the table is the one
    // written in the config (10000, 500000, 1e6).
    for (double digits : {1.0, 10.0, 100.0, 1000.0}) {
      double scale = std::pow(10.0, std::floor(std::log10(out.base)) + 1) /
                     (digits * 10.0);
      double round = std::round(out.base / scale) * scale;
      if (round > 1.0 && fits(round, 1e-6)) {
        out.base = round;
        break;
      }
    }
    // Positions: range converted to float [scaled by a constant] (the
    // views skip the conversion).
    Value pos = throughViews(p);
    if (std::optional<Scaled> s = matchScaled(pos)) {
      out.scaling = 1.0 / s->factor;
      pos = throughViews(s->input);
    }
    auto range = pos.getDefiningOp<RangeOp>();
    if (!range) {
      why = "the angles' positions are not a tfm.range";
      return std::nullopt;
    }
    out.offset = range.getOffset();
    return out;
  }
  why = "the angles are not positions times a constant frequency table";
  return std::nullopt;
}

/// `v` (through views) is unary(A) or unary(concat(A, A)) or
/// concat(unary(A), unary(A)); A is returned.
template <typename UnaryOp> Value matchTrig(Value v, bool full) {
  v = throughViews(v);
  auto twice = [](ConcatOp c) -> Value {
    if (c.getInputs().size() != 2 || c.getInputs()[0] != c.getInputs()[1] ||
        static_cast<int64_t>(c.getAxis()) !=
            cast<ShapedType>(c.getType()).getRank() - 1)
      return Value();
    return c.getInputs()[0];
  };
  if (auto u = v.getDefiningOp<UnaryOp>()) {
    Value in = u.getInput();
    if (!full)
      return in;
    auto c = in.getDefiningOp<ConcatOp>();
    return c ? twice(c) : Value();
  }
  if (auto c = v.getDefiningOp<ConcatOp>(); c && full)
    if (Value t = twice(c))
      if (auto u = t.getDefiningOp<UnaryOp>())
        return u.getInput();
  return Value();
}

/// `table` broadcasts over x = [batch, seq, heads, width] with the
/// positions on axis 1.
bool broadcastsOverSeq(Value table, Value x, int64_t width) {
  ArrayRef<int64_t> ts = cast<ShapedType>(table.getType()).getShape();
  ArrayRef<int64_t> xs = cast<ShapedType>(x.getType()).getShape();
  if (ts.size() > 4 || xs.size() != 4)
    return false;
  SmallVector<int64_t> t(4 - ts.size(), 1);
  t.append(ts.begin(), ts.end());
  return t[0] == 1 && t[2] == 1 && t[3] == width && t[1] == xs[1];
}

/// `v = slice(x, last axis, begin, end)`; x returned.
Value matchHalf(Value v, int64_t begin, int64_t end) {
  auto s = v.getDefiningOp<SliceOp>();
  if (!s || s.getOffset())
    return Value();
  int64_t last = cast<ShapedType>(s.getInput().getType()).getRank() - 1;
  if (static_cast<int64_t>(s.getAxis()) != last ||
      static_cast<int64_t>(s.getStart()) != begin ||
      static_cast<int64_t>(s.getEnd()) != end)
    return Value();
  return s.getInput();
}

/// `v = -u`: scaled by -1, or 0 - u.
Value matchNeg(Value v) {
  if (std::optional<Scaled> s = matchScaled(v); s && s->factor == -1.0)
    return s->input;
  if (auto sub = v.getDefiningOp<SubOp>();
      sub && getSplatValue(sub.getLhs()) == 0.0 &&
      sub.getType() == sub.getRhs().getType())
    return sub.getRhs();
  return Value();
}

/// The two factors of `v = a * b`, in either order, as (matching f, other).
template <typename Fn>
std::optional<std::pair<Value, Value>> splitMul(Value v, Fn &&f) {
  auto m = v.getDefiningOp<MulOp>();
  if (!m)
    return std::nullopt;
  if (f(m.getLhs()))
    return std::pair{m.getLhs(), m.getRhs()};
  if (f(m.getRhs()))
    return std::pair{m.getRhs(), m.getLhs()};
  return std::nullopt;
}

struct PatternBase {
  ControlFn control;
  FusionRemarks *remarks;

  /// Replaces `root` by tfm.rotary of `x` once the cosine and sine tables
  /// check out.
  LogicalResult build(Operation *root, Value x, Value cosTable, Value sinTable,
                      bool full, int64_t half,
                      PatternRewriter &rewriter) const {
    auto refuseWith = [&](const Twine &why) {
      return refuse(rewriter, remarks, root, kInto, why);
    };
    if (control && !control(root))
      return rewriter.notifyMatchFailure(root,
                                         "excluded by the control function");
    int64_t width = full ? 2 * half : half;
    if (!broadcastsOverSeq(cosTable, x, width) ||
        !broadcastsOverSeq(sinTable, x, width))
      return refuseWith(
          "the tables do not broadcast as [1, seq, 1, " + Twine(width) +
          "] over [batch, seq, heads, dim] (positions on axis 1)");
    Value ac = matchTrig<CosOp>(cosTable, full);
    Value as = matchTrig<SinOp>(sinTable, full);
    if (!ac || !as)
      return refuseWith("the tables are not the cosines and sines of angles");
    if (ac != as)
      return refuseWith("the cosines and sines are of different angles");
    std::string why;
    std::optional<Angles> a = matchAngles(ac, why);
    if (!a)
      return refuseWith(why);
    if (a->half != half)
      return refuseWith("the angle table has " + Twine(a->half) +
                        " frequencies for " + Twine(half) + " pairs");
    if (root->getResult(0).getType() != x.getType())
      return refuseWith("the result is not the input's shape");
    auto xt = cast<RankedTensorType>(x.getType());
    int64_t d = xt.getDimSize(3);
    auto op = rewriter.replaceOpWithNewOp<RotaryOp>(
        root, xt, x, a->offset, rewriter.getF64FloatAttr(a->base),
        2 * half < d ? rewriter.getI64IntegerAttr(2 * half) : IntegerAttr(),
        a->scaling != 1.0 ? rewriter.getF64FloatAttr(a->scaling) : FloatAttr(),
        /*interleaved=*/UnitAttr());
    if (remarks)
      remarks->fused(op, kInto);
    return success();
  }
};

// Pattern: x * cos(concat(A, A)) + concat(-x2, x1) * sin(concat(A, A))
//          -> tfm.rotary x
struct RotateHalfToRotary final : OpRewritePattern<AddOp>, PatternBase {
  RotateHalfToRotary(MLIRContext *ctx, ControlFn control,
                     FusionRemarks *remarks)
      : OpRewritePattern(ctx), PatternBase{std::move(control), remarks} {}

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    // One term's factor is rotate_half(x); the other term is x * C.
    auto isRotated = [](Value v) {
      auto c = v.getDefiningOp<ConcatOp>();
      return c && c.getInputs().size() == 2;
    };
    for (auto [t1, t2] : {std::pair{add.getLhs(), add.getRhs()},
                          std::pair{add.getRhs(), add.getLhs()}}) {
      auto rot = splitMul(t2, isRotated);
      if (!rot)
        continue;
      auto cat = rot->first.getDefiningOp<ConcatOp>();
      auto rt = cast<RankedTensorType>(cat.getType());
      int64_t r = rt.getShape().back();
      if (static_cast<int64_t>(cat.getAxis()) != rt.getRank() - 1 ||
          ShapedType::isDynamic(r) || r % 2)
        continue;
      int64_t half = r / 2;
      Value neg = matchNeg(cat.getInputs()[0]);
      Value x = neg ? matchHalf(neg, half, r) : Value();
      if (!x || matchHalf(cat.getInputs()[1], 0, half) != x)
        continue;
      auto plain = splitMul(t1, [&](Value v) { return v == x; });
      if (!plain)
        continue;
      if (cast<ShapedType>(x.getType()).getRank() != 4)
        return rewriter.notifyMatchFailure(add, "not [batch, seq, heads, dim]");
      return build(add, x, plain->second, rot->second, /*full=*/true, half,
                   rewriter);
    }
    return rewriter.notifyMatchFailure(add, "not x * C + rotate_half(x) * S");
  }
};

// Pattern: concat(x1 * c - x2 * s, x2 * c + x1 * s [, x_pass]) -> tfm.rotary x
struct HalvesToRotary final : OpRewritePattern<ConcatOp>, PatternBase {
  HalvesToRotary(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : OpRewritePattern(ctx), PatternBase{std::move(control), remarks} {}

  LogicalResult matchAndRewrite(ConcatOp cat,
                                PatternRewriter &rewriter) const override {
    auto in = cat.getInputs();
    auto ct = cast<RankedTensorType>(cat.getType());
    if (ct.getRank() != 4 || cat.getAxis() != 3 ||
        (in.size() != 2 && in.size() != 3))
      return rewriter.notifyMatchFailure(cat, "not two or three parts");
    auto sub = in[0].getDefiningOp<SubOp>();
    auto add = in[1].getDefiningOp<AddOp>();
    if (!sub || !add)
      return rewriter.notifyMatchFailure(cat, "not (a - b, c + d)");
    int64_t half = cast<ShapedType>(in[0].getType()).getShape().back();
    if (ShapedType::isDynamic(half))
      return rewriter.notifyMatchFailure(cat, "dynamic half");
    // x1 * c: the first half of x times the cosines.
    Value x;
    auto isFirst = [&](Value v) {
      Value src = matchHalf(v, 0, half);
      if (src && (!x || src == x))
        x = src;
      return bool(src);
    };
    auto isSecond = [&](Value v) {
      return x && matchHalf(v, half, 2 * half) == x;
    };
    auto x1c = splitMul(sub.getLhs(), isFirst);
    auto x2s = splitMul(sub.getRhs(), isSecond);
    if (!x1c || !x2s)
      return rewriter.notifyMatchFailure(cat, "not x1 * c - x2 * s");
    std::optional<std::pair<Value, Value>> x2c, x1s;
    for (auto [p, q] : {std::pair{add.getLhs(), add.getRhs()},
                        std::pair{add.getRhs(), add.getLhs()}}) {
      x2c = splitMul(p, isSecond);
      x1s = splitMul(q, isFirst);
      if (x2c && x1s)
        break;
    }
    if (!x2c || !x1s || x2c->second != x1c->second ||
        x1s->second != x2s->second)
      return rewriter.notifyMatchFailure(cat, "not x2 * c + x1 * s");
    int64_t d = cast<ShapedType>(x.getType()).getShape().back();
    if (in.size() == 3 ? matchHalf(in[2], 2 * half, d) != x : 2 * half != d)
      return rewriter.notifyMatchFailure(cat, "the parts do not cover x");
    return build(cat, x, x1c->second, x2s->second, /*full=*/false, half,
                 rewriter);
  }
};

struct RecomposeRotaryPass final
    : tfm::impl::RecomposeRotaryPassBase<RecomposeRotaryPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateRecomposeRotaryPatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateRecomposeRotaryPatterns(RewritePatternSet &patterns,
                                                const ControlFn &control,
                                                FusionRemarks *remarks) {
  patterns.add<RotateHalfToRotary, HalvesToRotary>(patterns.getContext(),
                                                   control, remarks);
}
