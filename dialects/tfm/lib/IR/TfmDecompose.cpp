//===- TfmDecompose.cpp - composite ops expanded into primitives ----------===//
//
// Part of tfmc. linalg::AggregatedOpInterface implementations. Each
// decomposition emits exactly the primitive sequence the frontends' op-by-op
// mode and ONNX exporters produce, so the fusion passes recompose it to the
// original op (the round trip is tested in test/Transforms).
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/ScalarUtils.h"
#include "tfm/IR/TfmOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;

namespace {
/// Small builder for tfm primitive chains at one location.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value scalar(Type elt, double v) {
    auto type = RankedTensorType::get({}, elt);
    return ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getFloatAttr(elt, v)));
  }
  SmallVector<int64_t> trailingAxes(Value x, int64_t axis) {
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    return llvm::to_vector(llvm::seq<int64_t>(axis, rank));
  }
  Value add(Value a, Value c) { return AddOp::create(b, loc, a, c); }
  Value sub(Value a, Value c) { return SubOp::create(b, loc, a, c); }
  Value mul(Value a, Value c) { return MulOp::create(b, loc, a, c); }
  Value div(Value a, Value c) { return DivOp::create(b, loc, a, c); }
  Value scale(Value x, double f) {
    return ScaleOp::create(b, loc, x, b.getF64FloatAttr(f));
  }
  Value mean(Value x, ArrayRef<int64_t> axes) {
    return ReduceMeanOp::create(b, loc, x, axes, /*keep_dims=*/true);
  }
  Value reshape(Value x, ArrayRef<int64_t> shape) {
    auto t = cast<RankedTensorType>(x.getType());
    return ReshapeOp::create(b, loc, t.clone(shape), x);
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    return TransposeOp::create(b, loc, x, perm);
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Softmax, norms, activations
//===----------------------------------------------------------------------===//

/// softmax: m = max(x); e = exp(x - m); e / sum(e)
FailureOr<SmallVector<Value>> SoftmaxOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value x = getInput();
  int64_t axis = getAxis();
  Value m = ReduceMaxOp::create(b, e.loc, x, axis, /*keep_dims=*/true);
  Value ex = ExpOp::create(b, e.loc, e.sub(x, m));
  Value s = ReduceSumOp::create(b, e.loc, ex, axis, /*keep_dims=*/true);
  return SmallVector<Value>{e.div(ex, s)};
}

/// layer_norm: c = x - mean(x); y = c / sqrt(mean(c*c) + eps) * scale + bias
static Value decomposeLayerNorm(Emitter &e, Value x, Value scale, Value bias,
                                int64_t axis, double eps) {
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  SmallVector<int64_t> axes = e.trailingAxes(x, axis);
  Value c = e.sub(x, e.mean(x, axes));
  Value var = e.mean(e.mul(c, c), axes);
  Value sd = SqrtOp::create(e.b, e.loc, e.add(var, e.scalar(elt, eps)));
  Value y = e.div(c, sd);
  if (scale)
    y = e.mul(y, scale);
  if (bias)
    y = e.add(y, bias);
  return y;
}

/// rms_norm: y = x * rsqrt(mean(x*x) + eps) * scale
static Value decomposeRMSNorm(Emitter &e, Value x, Value scale, int64_t axis,
                              double eps) {
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  Value ms = e.mean(e.mul(x, x), e.trailingAxes(x, axis));
  Value r = RsqrtOp::create(e.b, e.loc, e.add(ms, e.scalar(elt, eps)));
  Value y = e.mul(x, r);
  return scale ? e.mul(y, scale) : y;
}

FailureOr<SmallVector<Value>> LayerNormOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  return SmallVector<Value>{decomposeLayerNorm(e, getInput(), getScale(),
                                               getBias(), getAxis(),
                                               getEpsilon().convertToDouble())};
}

FailureOr<SmallVector<Value>> RMSNormOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  return SmallVector<Value>{decomposeRMSNorm(
      e, getInput(), getScale(), getAxis(), getEpsilon().convertToDouble())};
}

FailureOr<SmallVector<Value>> AddLayerNormOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value sum = e.add(getInput(), getResidual());
  Value y = LayerNormOp::create(b, e.loc, sum.getType(), sum, getScale(),
                                getBias(), getAxisAttr(), getEpsilonAttr());
  return SmallVector<Value>{y, sum};
}

FailureOr<SmallVector<Value>> AddRMSNormOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value sum = e.add(getInput(), getResidual());
  Value y = RMSNormOp::create(b, e.loc, sum.getType(), sum, getScale(),
                              getAxisAttr(), getEpsilonAttr());
  return SmallVector<Value>{y, sum};
}

/// gelu(erf):  0.5 * (x * (1 + erf(x * 1/sqrt(2))))
/// gelu(tanh): 0.5 * (x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))))
FailureOr<SmallVector<Value>> GeluOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value x = getInput();
  Type elt = getType().getElementType();
  Value inner;
  if (getApproximate() == GeluApproximation::erf) {
    inner = ErfOp::create(b, e.loc, e.scale(x, M_SQRT1_2));
  } else {
    Value cube = PowOp::create(b, e.loc, x, e.scalar(elt, 3.0));
    Value poly = e.add(x, e.scale(cube, 0.044715));
    inner = TanhOp::create(b, e.loc, e.scale(poly, std::sqrt(2.0 / M_PI)));
  }
  Value y = e.mul(x, e.add(inner, e.scalar(elt, 1.0)));
  return SmallVector<Value>{e.scale(y, 0.5)};
}

/// silu: x * sigmoid(x)
FailureOr<SmallVector<Value>> SiluOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  return SmallVector<Value>{
      e.mul(getInput(), SigmoidOp::create(b, e.loc, getInput()))};
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Returns `dim` of `v` as an index value (constant when static).
static Value dimValue(OpBuilder &b, Location loc, Value v, int64_t dim) {
  auto t = cast<RankedTensorType>(v.getType());
  if (!t.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(b, loc, t.getDimSize(dim));
  return tensor::DimOp::create(b, loc, v, dim);
}

/// Splits heads, computes softmax(q k^T * scale + mask) v and merges heads:
/// exactly the primitive sequence the frontends emit for one attention.
FailureOr<SmallVector<Value>> AttentionOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value q = getQuery(), k = getKey(), v = getValue();
  int64_t heads = getNumHeads(), kvHeads = getKVHeads();
  int64_t groups = heads / kvHeads;
  auto split = [&](Value x, int64_t n) -> Value {
    if (hasExplicitHeads())
      return x;
    ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
    Value r = e.reshape(x, {s[0], s[1], n, s[2] / n});
    return e.transpose(r, {0, 2, 1, 3});
  };
  // Grouped-query attention as the frontends write it: [B, H, ...] viewed
  // as [B, kv_heads, groups, ...] against [B, kv_heads, 1, ...], so that
  // the products broadcast each key/value head over its group.
  auto group = [&](Value x, int64_t g) -> Value {
    if (groups == 1)
      return x;
    ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
    return e.reshape(x, {s[0], s[1] / g, g, s[2], s[3]});
  };
  auto ungroup = [&](Value x) -> Value {
    if (groups == 1)
      return x;
    ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
    return e.reshape(x, {s[0], s[1] * s[2], s[3], s[4]});
  };
  Value qh = split(q, heads), kh = split(k, kvHeads), vh = split(v, kvHeads);
  Value scores =
      ungroup(MatmulOp::create(b, e.loc, group(qh, groups), group(kh, 1),
                               /*transpose_lhs=*/false,
                               /*transpose_rhs=*/true));
  scores = e.scale(scores, getScale().convertToDouble());
  if (Value mask = getMask())
    scores = e.add(scores, mask);
  if (getCausal()) {
    auto st = cast<RankedTensorType>(scores.getType());
    auto maskType = RankedTensorType::get({st.getDimSize(2), st.getDimSize(3)},
                                          st.getElementType());
    SmallVector<Value> sizes;
    if (maskType.isDynamicDim(0))
      sizes.push_back(dimValue(b, e.loc, scores, 2));
    if (maskType.isDynamicDim(1))
      sizes.push_back(dimValue(b, e.loc, scores, 3));
    Value causal =
        CausalMaskOp::create(b, e.loc, maskType, getOffset(), sizes,
                             b.getF64FloatAttr(-1.0e9), getWindowAttr());
    scores = e.add(scores, causal);
  }
  Value probs = SoftmaxOp::create(b, e.loc, scores, /*axis=*/3);
  Value out = ungroup(MatmulOp::create(b, e.loc, group(probs, groups),
                                       group(vh, 1), false, false));
  if (hasExplicitHeads())
    return SmallVector<Value>{out};
  Value merged = e.transpose(out, {0, 2, 1, 3});
  ArrayRef<int64_t> rs = getType().getShape();
  return SmallVector<Value>{e.reshape(merged, rs)};
}

//===----------------------------------------------------------------------===//
// Linear with epilogue
//===----------------------------------------------------------------------===//

/// Maps one scalar epilogue op back to the tfm primitive on tensors. With a
/// null emitter it only answers whether the op can be mapped.
static FailureOr<Value> tensorizeScalarOp(Emitter *e, Operation *op,
                                          ArrayRef<Value> operands, Type elt) {
  auto bin = [&](auto tag) -> FailureOr<Value> {
    using OpTy = decltype(tag);
    if (!e)
      return Value();
    return Value(OpTy::create(e->b, e->loc, operands[0], operands[1]));
  };
  auto un = [&](auto tag) -> FailureOr<Value> {
    using OpTy = decltype(tag);
    if (!e)
      return Value();
    return Value(OpTy::create(e->b, e->loc, operands[0]));
  };
  if (isa<arith::AddFOp>(op))
    return bin(AddOp());
  if (isa<arith::SubFOp>(op))
    return bin(SubOp());
  if (isa<arith::MulFOp>(op))
    return bin(MulOp());
  if (isa<arith::DivFOp>(op))
    return bin(DivOp());
  if (isa<math::PowFOp>(op))
    return bin(PowOp());
  if (isa<math::ExpOp>(op))
    return un(ExpOp());
  if (isa<math::TanhOp>(op))
    return un(TanhOp());
  if (isa<math::ErfOp>(op))
    return un(ErfOp());
  if (isa<math::CosOp>(op))
    return un(CosOp());
  if (isa<math::SinOp>(op))
    return un(SinOp());
  if (isa<math::SqrtOp>(op))
    return un(SqrtOp());
  if (isa<math::RsqrtOp>(op))
    return un(RsqrtOp());
  if (isa<arith::NegFOp>(op))
    return e ? FailureOr<Value>(e->scale(operands[0], -1.0)) : Value();
  if (auto max = dyn_cast<arith::MaximumFOp>(op)) {
    // relu is max(x, 0).
    if (!matchPattern(max.getRhs(), m_AnyZeroFloat()))
      return failure();
    return un(ReluOp());
  }
  if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
    auto f = dyn_cast<FloatAttr>(cst.getValue());
    if (!f)
      return failure();
    return e ? FailureOr<Value>(e->scalar(elt, f.getValueAsDouble())) : Value();
  }
  return failure();
}

/// linear + epilogue: the plain linear, then the epilogue region replayed as
/// tfm elementwise ops on tensors (a gated linear's accumulators are the two
/// halves of the plain one). Checks every op before building anything.
FailureOr<SmallVector<Value>> LinearOp::decomposeOperation(OpBuilder &b) {
  if (!hasEpilogue())
    return failure(); // Already primitive.
  Block &body = getEpilogue().front();
  Type elt = getType().getElementType();
  for (Operation &op : body.without_terminator())
    if (failed(tensorizeScalarOp(nullptr, &op, {}, elt)))
      return failure();

  Emitter e{b, getLoc()};
  Value acc = LinearOp::create(b, e.loc, getInput(), getWeight(), getBias(),
                               getWeightKn());
  IRMapping map;
  if (getGated()) {
    int64_t axis = getType().getRank() - 1, h = getNumOutputFeatures();
    map.map(body.getArgument(0), SliceOp::create(b, e.loc, acc, axis, 0, h));
    map.map(body.getArgument(1),
            SliceOp::create(b, e.loc, acc, axis, h, 2 * h));
  } else {
    map.map(body.getArgument(0), acc);
  }
  for (auto [arg, in] :
       llvm::zip(body.getArguments().drop_front(getNumAccumulators()),
                 getEpilogueInputs()))
    map.map(arg, in);
  for (Operation &op : body.without_terminator()) {
    SmallVector<Value> operands = llvm::map_to_vector(
        op.getOperands(), [&](Value v) { return map.lookup(v); });
    map.map(op.getResult(0), *tensorizeScalarOp(&e, &op, operands, elt));
  }
  return SmallVector<Value>{map.lookup(body.getTerminator()->getOperand(0))};
}

//===----------------------------------------------------------------------===//
// Rotary position embedding
//===----------------------------------------------------------------------===//

/// rotary: the angles p * theta as an outer product of the positions (as
/// f32) and the constant theta, their cos and sin, and the rotate-half
/// combination of the two halves of the rotated features:
///   [x1, x2, rest] -> [x1 cos - x2 sin, x2 cos + x1 sin, rest]
FailureOr<SmallVector<Value>> RotaryOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value x = getInput();
  RankedTensorType t = getType();
  Type elt = t.getElementType();
  int64_t r = getRotaryDims(), half = r / 2, d = t.getDimSize(3);
  int64_t seq = t.getDimSize(1);
  SmallVector<Value> sizes;
  if (t.isDynamicDim(1))
    sizes.push_back(tensor::DimOp::create(b, e.loc, x, 1));
  Value pos =
      RangeOp::create(b, e.loc, RankedTensorType::get({seq}, b.getI64Type()),
                      getOffset(), sizes);
  Value posF = ConvertOp::create(
      b, e.loc, RankedTensorType::get({seq}, b.getF32Type()), pos);
  if (double s = getPositionScaling(); s != 1.0) {
    auto scalar = RankedTensorType::get({1}, b.getF32Type());
    posF = e.div(posF, ConstantOp::create(b, e.loc,
                                          DenseElementsAttr::get(
                                              scalar, static_cast<float>(s))));
  }
  posF = e.reshape(posF, {seq, 1});
  // theta_i = 1 / base^(2i/R), in f32 as PyTorch computes it.
  SmallVector<float> theta;
  for (int64_t i = 0; i < half; ++i)
    theta.push_back(rotaryTheta(getBase().convertToDouble(), i, r));
  auto thetaType = RankedTensorType::get({half}, b.getF32Type());
  Value thetaC = ConstantOp::create(
      b, e.loc, DenseElementsAttr::get(thetaType, ArrayRef<float>(theta)));
  Value angles = e.mul(posF, thetaC); // [seq, half]
  auto cast = [&](Value v) {
    return elt.isF32()
               ? v
               : Value(ConvertOp::create(
                     b, e.loc, RankedTensorType::get({seq, half}, elt), v));
  };
  Value cos =
      e.reshape(cast(CosOp::create(b, e.loc, angles)), {1, seq, 1, half});
  Value sin =
      e.reshape(cast(SinOp::create(b, e.loc, angles)), {1, seq, 1, half});
  SmallVector<Value> parts;
  if (getInterleaved()) {
    // Adjacent pairs: [..., R] as [..., R/2, 2], even and odd features.
    ArrayRef<int64_t> s = t.getShape();
    Value xr = r < d ? Value(SliceOp::create(b, e.loc, x, 3, 0, r)) : x;
    Value pairs = e.reshape(xr, {s[0], s[1], s[2], half, 2});
    auto member = [&](int64_t k) {
      return e.reshape(SliceOp::create(b, e.loc, pairs, 4, k, k + 1),
                       {s[0], s[1], s[2], half});
    };
    Value xe = member(0), xo = member(1);
    Value oe = e.sub(e.mul(xe, cos), e.mul(xo, sin));
    Value oo = e.add(e.mul(xo, cos), e.mul(xe, sin));
    auto column = [&](Value v) {
      return e.reshape(v, {s[0], s[1], s[2], half, 1});
    };
    Value joined =
        ConcatOp::create(b, e.loc, ValueRange{column(oe), column(oo)}, 4);
    parts.push_back(e.reshape(joined, {s[0], s[1], s[2], r}));
  } else {
    Value x1 = SliceOp::create(b, e.loc, x, 3, 0, half);
    Value x2 = SliceOp::create(b, e.loc, x, 3, half, r);
    parts.push_back(e.sub(e.mul(x1, cos), e.mul(x2, sin)));
    parts.push_back(e.add(e.mul(x2, cos), e.mul(x1, sin)));
  }
  if (r < d)
    parts.push_back(SliceOp::create(b, e.loc, x, 3, r, d));
  return SmallVector<Value>{ConcatOp::create(b, e.loc, parts, 3)};
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

/// The dense form: every expert on every row, weighted by the routing
/// weights (zero for the experts a row did not select), summed in expert
/// order:
///   acc += gate[..., e] * linear(act(gu[:F]) * gu[F:], down_e),
///   gu = linear(x, gate_up_e)
FailureOr<SmallVector<Value>> MoEOp::decomposeOperation(OpBuilder &b) {
  Emitter e{b, getLoc()};
  Value x = getInput();
  int64_t axis = getType().getRank() - 1;
  int64_t f = getExpertFeatures(), d = getType().getShape().back();
  auto expert = [&](Value w, int64_t i, int64_t rows, int64_t cols) {
    return e.reshape(SliceOp::create(b, e.loc, w, 0, i, i + 1), {rows, cols});
  };
  Value acc;
  for (int64_t i = 0, n = getNumExperts(); i < n; ++i) {
    Value gu = LinearOp::create(b, e.loc, x, expert(getGateUp(), i, 2 * f, d),
                                Value());
    Value g = SliceOp::create(b, e.loc, gu, axis, 0, f);
    Value u = SliceOp::create(b, e.loc, gu, axis, f, 2 * f);
    Value act;
    switch (getActivation()) {
    case ActivationKind::relu:
      act = ReluOp::create(b, e.loc, g);
      break;
    case ActivationKind::gelu:
    case ActivationKind::gelu_tanh:
      act = GeluOp::create(b, e.loc, g,
                           getActivation() == ActivationKind::gelu
                               ? GeluApproximation::erf
                               : GeluApproximation::tanh);
      break;
    case ActivationKind::silu:
      act = SiluOp::create(b, e.loc, g);
      break;
    }
    Value y = LinearOp::create(b, e.loc, e.mul(act, u),
                               expert(getDown(), i, d, f), Value());
    Value term = e.mul(y, SliceOp::create(b, e.loc, getGate(), axis, i, i + 1));
    acc = acc ? e.add(acc, term) : term;
  }
  return SmallVector<Value>{acc};
}
