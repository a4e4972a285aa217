//===- TfmScalar.cpp - per-element semantics of elementwise tfm ops -------===//
//
// Part of tfmc. ScalarComputeOpInterface implementations: each builds the
// arith/math computation of one element. The same builders work on vectors,
// which is how the CPU backend vectorises epilogues.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/ScalarUtils.h"
#include "tfm/IR/TfmOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;

Value mlir::tfm::buildFloatConstant(OpBuilder &b, Location loc, Type type,
                                    double value) {
  if (auto vec = dyn_cast<VectorType>(type)) {
    auto elt = cast<FloatType>(vec.getElementType());
    return arith::ConstantOp::create(
        b, loc, vec, DenseElementsAttr::get(vec, b.getFloatAttr(elt, value)));
  }
  return arith::ConstantOp::create(
      b, loc, type, b.getFloatAttr(cast<FloatType>(type), value));
}

Value mlir::tfm::buildSigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value one = buildFloatConstant(b, loc, t, 1.0);
  Value negX = arith::NegFOp::create(b, loc, x);
  Value e = math::ExpOp::create(b, loc, negX);
  Value den = arith::AddFOp::create(b, loc, one, e);
  return arith::DivFOp::create(b, loc, one, den);
}

Value mlir::tfm::buildGelu(OpBuilder &b, Location loc, Value x,
                           GeluApproximation approx) {
  Type t = x.getType();
  Value half = buildFloatConstant(b, loc, t, 0.5);
  Value one = buildFloatConstant(b, loc, t, 1.0);
  Value inner;
  if (approx == GeluApproximation::erf) {
    // 0.5 * x * (1 + erf(x / sqrt(2)))
    Value s = arith::MulFOp::create(b, loc, x,
                                    buildFloatConstant(b, loc, t, M_SQRT1_2));
    inner = math::ErfOp::create(b, loc, s);
  } else {
    // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    Value x2 = arith::MulFOp::create(b, loc, x, x);
    Value x3 = arith::MulFOp::create(b, loc, x2, x);
    Value c = arith::MulFOp::create(b, loc, x3,
                                    buildFloatConstant(b, loc, t, 0.044715));
    Value s = arith::AddFOp::create(b, loc, x, c);
    Value u = arith::MulFOp::create(
        b, loc, s, buildFloatConstant(b, loc, t, std::sqrt(2.0 / M_PI)));
    inner = math::TanhOp::create(b, loc, u);
  }
  Value onePlus = arith::AddFOp::create(b, loc, one, inner);
  Value hx = arith::MulFOp::create(b, loc, half, x);
  return arith::MulFOp::create(b, loc, hx, onePlus);
}

//===----------------------------------------------------------------------===//
// Binary
//===----------------------------------------------------------------------===//

Value AddOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return arith::AddFOp::create(b, loc, a[0], a[1]);
}
Value SubOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return arith::SubFOp::create(b, loc, a[0], a[1]);
}
Value MulOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return arith::MulFOp::create(b, loc, a[0], a[1]);
}
Value DivOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return arith::DivFOp::create(b, loc, a[0], a[1]);
}
Value PowOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::PowFOp::create(b, loc, a[0], a[1]);
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

Value ExpOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::ExpOp::create(b, loc, a[0]);
}
Value SqrtOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::SqrtOp::create(b, loc, a[0]);
}
Value RsqrtOp::buildScalarComputation(OpBuilder &b, Location loc,
                                      ValueRange a) {
  return math::RsqrtOp::create(b, loc, a[0]);
}
Value TanhOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::TanhOp::create(b, loc, a[0]);
}
Value CosOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::CosOp::create(b, loc, a[0]);
}
Value SinOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::SinOp::create(b, loc, a[0]);
}
Value ErfOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return math::ErfOp::create(b, loc, a[0]);
}
Value mlir::tfm::buildActivation(OpBuilder &b, Location loc, Value x,
                                 ActivationKind kind) {
  switch (kind) {
  case ActivationKind::relu:
    return arith::MaximumFOp::create(
        b, loc, x, buildFloatConstant(b, loc, x.getType(), 0.0));
  case ActivationKind::gelu:
    return buildGelu(b, loc, x, GeluApproximation::erf);
  case ActivationKind::gelu_tanh:
    return buildGelu(b, loc, x, GeluApproximation::tanh);
  case ActivationKind::silu:
    return arith::MulFOp::create(b, loc, x, buildSigmoid(b, loc, x));
  }
  llvm_unreachable("unknown activation");
}

Value ReluOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return arith::MaximumFOp::create(
      b, loc, a[0], buildFloatConstant(b, loc, a[0].getType(), 0.0));
}
Value SigmoidOp::buildScalarComputation(OpBuilder &b, Location loc,
                                        ValueRange a) {
  return buildSigmoid(b, loc, a[0]);
}
Value SiluOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return arith::MulFOp::create(b, loc, a[0], buildSigmoid(b, loc, a[0]));
}
Value GeluOp::buildScalarComputation(OpBuilder &b, Location loc, ValueRange a) {
  return buildGelu(b, loc, a[0], getApproximate());
}
Value ScaleOp::buildScalarComputation(OpBuilder &b, Location loc,
                                      ValueRange a) {
  return arith::MulFOp::create(
      b, loc, a[0],
      buildFloatConstant(b, loc, a[0].getType(),
                         getFactor().convertToDouble()));
}

//===----------------------------------------------------------------------===//
// Element type conversion
//===----------------------------------------------------------------------===//

Value mlir::tfm::buildConvert(OpBuilder &b, Location loc, Value x, Type to) {
  Type from = getElementTypeOrSelf(x.getType());
  if (auto vec = dyn_cast<VectorType>(x.getType()))
    to = VectorType::get(vec.getShape(), to);
  Type toElt = getElementTypeOrSelf(to);
  if (from == toElt)
    return x;
  auto fromF = dyn_cast<FloatType>(from), toF = dyn_cast<FloatType>(toElt);
  if (fromF && toF) {
    // f16 <-> bf16 has no exact direct form: go through f32.
    if (fromF.getWidth() == toF.getWidth())
      return buildConvert(b, loc, buildConvert(b, loc, x, b.getF32Type()),
                          toElt);
    if (fromF.getWidth() < toF.getWidth())
      return arith::ExtFOp::create(b, loc, to, x);
    return arith::TruncFOp::create(b, loc, to, x);
  }
  if (!fromF && !toF) {
    unsigned fw = from.getIntOrFloatBitWidth(),
             tw = toElt.getIntOrFloatBitWidth();
    if (fw < tw)
      return fw == 1 ? Value(arith::ExtUIOp::create(b, loc, to, x))
                     : Value(arith::ExtSIOp::create(b, loc, to, x));
    return arith::TruncIOp::create(b, loc, to, x);
  }
  if (toF)
    return from.isInteger(1) ? Value(arith::UIToFPOp::create(b, loc, to, x))
                             : Value(arith::SIToFPOp::create(b, loc, to, x));
  return arith::FPToSIOp::create(b, loc, to, x);
}

Value ConvertOp::buildScalarComputation(OpBuilder &b, Location loc,
                                        ValueRange a) {
  return buildConvert(b, loc, a[0], getType().getElementType());
}

//===----------------------------------------------------------------------===//
// Rotary angles
//===----------------------------------------------------------------------===//

float mlir::tfm::rotaryTheta(double base, int64_t i, int64_t rotaryDims) {
  // inv_freq = 1.0 / (base ** (arange(0, R, 2).float() / R)), all in f32.
  float exponent = static_cast<float>(2 * i) / static_cast<float>(rotaryDims);
  float power = std::pow(static_cast<float>(base), exponent);
  return 1.0f / power;
}

void mlir::tfm::rotaryTableRow(double base, int64_t p, int64_t rotaryDims,
                               float *row, double scaling) {
  int64_t half = rotaryDims / 2;
  // Linear scaling: positions.float() / factor, in f32.
  float q = scaling == 1.0
                ? static_cast<float>(p)
                : static_cast<float>(p) / static_cast<float>(scaling);
  for (int64_t i = 0; i < half; ++i) {
    // freqs = inv_freq @ positions: one f32 product per element.
    float angle = q * rotaryTheta(base, i, rotaryDims);
    row[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
    row[half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
}

//===----------------------------------------------------------------------===//
// T5 relative position buckets
//===----------------------------------------------------------------------===//

int64_t mlir::tfm::relativeMaxExact(int64_t numBuckets, bool bidirectional) {
  return (bidirectional ? numBuckets / 2 : numBuckets) / 2;
}

/// The bucket of distance magnitude `a` within its half (n buckets).
static int64_t bucketInHalf(int64_t a, int64_t n, int64_t maxDistance) {
  int64_t exact = n / 2;
  if (a < exact)
    return a;
  // transformers: max_exact + (log(a / max_exact) / log(max_distance /
  // max_exact) * (n - max_exact)).long(), every step in f32 (the Python
  // scalar log rounded to f32 as PyTorch's scalar operand is).
  float ratio = static_cast<float>(a) / static_cast<float>(exact);
  float scaled = std::log(ratio) /
                 static_cast<float>(std::log(static_cast<double>(maxDistance) /
                                             static_cast<double>(exact)));
  float v = scaled * static_cast<float>(n - exact);
  return std::min<int64_t>(exact + static_cast<int64_t>(v), n - 1);
}

int64_t mlir::tfm::relativePositionBucket(int64_t rel, int64_t numBuckets,
                                          int64_t maxDistance,
                                          bool bidirectional) {
  if (bidirectional) {
    int64_t n = numBuckets / 2;
    return (rel > 0 ? n : 0) + bucketInHalf(std::abs(rel), n, maxDistance);
  }
  return bucketInHalf(std::max<int64_t>(-rel, 0), numBuckets, maxDistance);
}

SmallVector<int64_t> mlir::tfm::relativeBucketThresholds(int64_t numBuckets,
                                                         int64_t maxDistance,
                                                         bool bidirectional) {
  int64_t n = bidirectional ? numBuckets / 2 : numBuckets;
  int64_t exact = n / 2;
  // The bucket is non-decreasing in the distance (every f32 step is
  // monotonic) and reaches n - 1 by max_distance: one scan finds where
  // each bucket above max_exact starts.
  SmallVector<int64_t> thresholds;
  int64_t bucket = exact;
  for (int64_t a = exact; bucket < n - 1; ++a) {
    int64_t b = bucketInHalf(a, n, maxDistance);
    for (; bucket < b; ++bucket)
      thresholds.push_back(a);
  }
  return thresholds;
}
