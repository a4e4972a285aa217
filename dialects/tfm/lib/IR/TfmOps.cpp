//===- TfmOps.cpp - tfm op verifiers and type inference -------------------===//
//
// Part of tfmc. Shape rules come from ShapeUtils.h; this file adapts them to
// each op's operands and attributes.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/IR/ScalarUtils.h"
#include "tfm/IR/ShapeUtils.h"

#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::tfm;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {
/// Reports shape errors either through `op->emitOpError` (verifiers) or at the
/// optional location of type inference.
struct InferError {
  std::optional<Location> loc;
  bool failed = false;
  void operator()(const Twine &msg) {
    failed = true;
    if (loc)
      emitError(*loc) << msg;
  }
};
} // namespace

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<ShapedType>(v.getType()).getShape();
}

static Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Verifies that all given values have the element type of `ref`.
static LogicalResult verifySameElementType(Operation *op, Value ref,
                                           ValueRange others, StringRef what) {
  Type elt = elementTypeOf(ref);
  for (Value v : others)
    if (v && elementTypeOf(v) != elt)
      return op->emitOpError() << what << " element type " << elementTypeOf(v)
                               << " differs from " << elt;
  return success();
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("weight name must not be empty");
  if (getParts().has_value() != getConcatAxis().has_value())
    return emitOpError("'parts' and 'concat_axis' must be given together");
  if (std::optional<ArrayAttr> parts = getParts()) {
    if (parts->size() < 2)
      return emitOpError("a concatenated weight needs at least two parts");
    if (failed(verifyAxis(*getConcatAxis(), getType().getRank(),
                          "concatenation axis",
                          [&](const Twine &m) { (void)emitOpError(m); })))
      return failure();
  }
  if (!getType().hasStaticShape())
    return emitOpError("weights must have a static shape");
  if (getQuant() &&
      (getType().getRank() != 2 || !getType().getElementType().isF32()))
    return emitOpError("a quantized weight must be an f32 matrix");
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto table = cast<RankedTensorType>(adaptor.getTable().getType());
  auto ids = cast<RankedTensorType>(adaptor.getIds().getType());
  if (table.getRank() != 2)
    return emitOptionalError(loc, "embedding table must be [vocab, d], got ",
                             formatShape(table.getShape()));
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(table.getDimSize(1));
  results.push_back(RankedTensorType::get(shape, table.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Positions and masks
//===----------------------------------------------------------------------===//

/// Shared rule of the creation ops: one size operand per dynamic dimension.
static LogicalResult verifyDynamicSizes(Operation *op, ShapedType type,
                                        ValueRange sizes) {
  if (static_cast<int64_t>(sizes.size()) !=
      static_cast<int64_t>(type.getNumDynamicDims()))
    return op->emitOpError() << "expects " << type.getNumDynamicDims()
                             << " dynamic size operand(s) for " << type
                             << ", got " << sizes.size();
  return success();
}

LogicalResult PositionalEncodingOp::verify() {
  RankedTensorType type = getType();
  if (type.getRank() != 2)
    return emitOpError("result must be [seq, d], got ")
           << formatShape(type.getShape());
  if (type.isDynamicDim(1))
    return emitOpError("model dimension must be static");
  if (getBase().convertToDouble() <= 1.0)
    return emitOpError("base must be greater than 1");
  return verifyDynamicSizes(*this, type, getDynamicSizes());
}

int64_t RotaryOp::getRotaryDims() {
  if (std::optional<int64_t> r = getRotaryDim())
    return *r;
  return getType().getShape().back();
}

double RotaryOp::getPositionScaling() {
  if (std::optional<llvm::APFloat> s = getScaling())
    return s->convertToDouble();
  return 1.0;
}

LogicalResult RotaryOp::verify() {
  RankedTensorType type = getType();
  if (type.getRank() != 4)
    return emitOpError("input must be [batch, seq, heads, head_dim], got ")
           << formatShape(type.getShape());
  if (type.isDynamicDim(2) || type.isDynamicDim(3))
    return emitOpError("heads and head_dim must be static");
  int64_t d = type.getDimSize(3), r = getRotaryDims();
  if (r <= 0 || r % 2 != 0 || r > d)
    return emitOpError("rotates ")
           << r
           << " features; it must be an even number from 2 to head_dim = " << d;
  if (!(getBase().convertToDouble() > 1.0))
    return emitOpError("base must be greater than 1");
  if (!(getPositionScaling() > 0.0))
    return emitOpError("scaling must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

LogicalResult MoEGateOp::verify() {
  RankedTensorType type = getType();
  if (type.getRank() < 1 || type.isDynamicDim(type.getRank() - 1))
    return emitOpError("router logits must be [..., experts] with a static "
                       "number of experts, got ")
           << formatShape(type.getShape());
  int64_t e = type.getShape().back(), k = getTopK();
  if (k < 1 || k > e)
    return emitOpError("top_k = ")
           << k << " must be between 1 and the " << e << " experts";
  return success();
}

LogicalResult MoEOp::verify() {
  RankedTensorType x = getInput().getType(), g = getGate().getType();
  RankedTensorType gu = getGateUp().getType(), dn = getDown().getType();
  auto shape = [](RankedTensorType t) { return formatShape(t.getShape()); };
  if (x.getRank() < 1 || x.isDynamicDim(x.getRank() - 1))
    return emitOpError("input must be [..., features] with static features, "
                       "got ")
           << shape(x);
  if (gu.getRank() != 3 || dn.getRank() != 3)
    return emitOpError("expert weights must be gate_up [E, 2F, D] and down "
                       "[E, D, F], got ")
           << shape(gu) << " and " << shape(dn);
  int64_t d = x.getShape().back(), e = dn.getDimSize(0), f = dn.getDimSize(2);
  if (gu.getDimSize(0) != e || gu.getDimSize(1) != 2 * f ||
      gu.getDimSize(2) != d || dn.getDimSize(1) != d)
    return emitOpError("expert weights gate_up ")
           << shape(gu) << " and down " << shape(dn) << " do not match "
           << e << " experts of " << d << " -> " << f << " -> " << d
           << " features (want gate_up [E, 2F, D], down [E, D, F])";
  if (g.getRank() != x.getRank() || g.getShape().back() != e)
    return emitOpError("routing weights must be [..., ")
           << e << "] with the input's leading dimensions, got " << shape(g);
  for (int64_t i = 0; i + 1 < x.getRank(); ++i)
    if (!x.isDynamicDim(i) && !g.isDynamicDim(i) &&
        x.getDimSize(i) != g.getDimSize(i))
      return emitOpError("routing weights ")
             << shape(g) << " do not match the rows of input " << shape(x);
  int64_t k = getTopK();
  if (k < 1 || k > e)
    return emitOpError("top_k = ")
           << k << " must be between 1 and the " << e << " experts";
  Type elt = x.getElementType();
  if (g.getElementType() != elt || gu.getElementType() != elt ||
      dn.getElementType() != elt || getType() != x)
    return emitOpError("input, routing weights, expert weights and result "
                       "must have one element type and the result the "
                       "input's type");
  return success();
}

LogicalResult RangeOp::verify() {
  RankedTensorType type = getType();
  if (type.getRank() != 1)
    return emitOpError("result must be 1-D, got ")
           << formatShape(type.getShape());
  return verifyDynamicSizes(*this, type, getDynamicSizes());
}

LogicalResult CacheWriteOp::verify() {
  ArrayRef<int64_t> cache = getCache().getType().getShape();
  ArrayRef<int64_t> update = getUpdate().getType().getShape();
  int64_t axis = getAxis();
  if (failed(verifyAxis(axis, cache.size(), "cache axis",
                        [&](const Twine &m) { (void)emitOpError(m); })))
    return failure();
  if (!getCache().getType().hasStaticShape())
    return emitOpError("the cache must have a static shape, got ")
           << formatShape(cache);
  if (update.size() != cache.size())
    return emitOpError("update rank ")
           << update.size() << " differs from the cache rank " << cache.size();
  if (getUpdate().getType().getElementType() !=
      getCache().getType().getElementType())
    return emitOpError("update and cache element types differ");
  for (size_t i = 0; i < cache.size(); ++i) {
    if (static_cast<int64_t>(i) == axis) {
      if (!ShapedType::isDynamic(update[i]) && update[i] > cache[i])
        return emitOpError("update of ")
               << update[i] << " rows does not fit a cache of " << cache[i];
      continue;
    }
    if (!dimsCompatible(update[i], cache[i]))
      return emitOpError("update shape ")
             << formatShape(update) << " does not match cache shape "
             << formatShape(cache) << " outside axis " << axis;
  }
  return success();
}

LogicalResult CausalMaskOp::verify() {
  RankedTensorType type = getType();
  if (type.getRank() != 2)
    return emitOpError("result must be [query, key], got ")
           << formatShape(type.getShape());
  if (getValue().convertToDouble() >= 0.0)
    return emitOpError("mask value must be negative");
  if (std::optional<int64_t> w = getWindow(); w && *w <= 0)
    return emitOpError("window must be positive, got ") << *w;
  return verifyDynamicSizes(*this, type, getDynamicSizes());
}

LogicalResult RelativePositionBiasOp::verify() {
  ArrayRef<int64_t> table = getTable().getType().getShape();
  RankedTensorType type = getType();
  if (table.size() != 2 || ShapedType::isDynamic(table[0]) ||
      ShapedType::isDynamic(table[1]))
    return emitOpError("table must be a static [num_buckets, heads], got ")
           << formatShape(table);
  if (type.getRank() != 4 || type.getDimSize(0) != 1 ||
      type.getDimSize(1) != table[1])
    return emitOpError("result must be [1, ")
           << table[1] << ", query, key] for a table of " << table[1]
           << " heads, got " << formatShape(type.getShape());
  if (type.getElementType() != getTable().getType().getElementType())
    return emitOpError("result element type must be the table's");
  int64_t exact = relativeMaxExact(table[0], getBidirectional());
  if (exact < 1)
    return emitOpError("needs at least ")
           << (getBidirectional() ? 4 : 2) << " buckets, got " << table[0];
  if (getMaxDistance() <= exact)
    return emitOpError("max_distance must exceed the ")
           << exact << " exact buckets, got " << getMaxDistance();
  return verifyDynamicSizes(*this, type, getDynamicSizes());
}

LogicalResult PaddingMaskOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput());
  ArrayRef<int64_t> out = getType().getShape();
  if (in.size() != 2)
    return emitOpError("attention mask must be [batch, key], got ")
           << formatShape(in);
  if (out.size() != 4 || out[1] != 1 || out[2] != 1 ||
      !dimsCompatible(out[0], in[0]) || !dimsCompatible(out[3], in[1]))
    return emitOpError("result must be [batch, 1, 1, key] for an attention "
                       "mask of shape ")
           << formatShape(in) << ", got " << formatShape(out);
  if (getValue().convertToDouble() >= 0.0)
    return emitOpError("mask value must be negative");
  return success();
}

//===----------------------------------------------------------------------===//
// MatmulOp / LinearOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError err{loc};
  Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
  if (elementTypeOf(lhs) != elementTypeOf(rhs))
    return emitOptionalError(loc, "matmul operand element types differ");
  FailureOr<SmallVector<int64_t>> shape =
      inferMatmulShape(shapeOf(lhs), shapeOf(rhs), adaptor.getTransposeLhs(),
                       adaptor.getTransposeRhs(), err);
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, elementTypeOf(lhs)));
  return success();
}

void LinearOp::build(OpBuilder &b, OperationState &state, Value input,
                     Value weight, Value bias, bool weightKN) {
  auto inType = cast<RankedTensorType>(input.getType());
  ArrayRef<int64_t> w = shapeOf(weight);
  SmallVector<int64_t> shape(inType.getShape().drop_back());
  shape.push_back(weightKN ? w[1] : w[0]);
  build(b, state, RankedTensorType::get(shape, inType.getElementType()), input,
        weight, bias, ValueRange{}, weightKN);
  // The epilogue region is created empty by the generated builder.
}

int64_t LinearOp::getNumOutputFeatures() { return getType().getShape().back(); }

int64_t LinearOp::getNumWeightFeatures() {
  ArrayRef<int64_t> w = shapeOf(getWeight());
  return getWeightKn() ? w[1] : w[0];
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError err{loc};
  FailureOr<SmallVector<int64_t>> shape = inferLinearShape(
      shapeOf(adaptor.getInput()), shapeOf(adaptor.getWeight()),
      adaptor.getWeightKn(), err);
  if (failed(shape))
    return failure();
  if (adaptor.getGated()) {
    if (shape->back() % 2 != 0) {
      err("a gated linear needs an even number of weight features, got " +
          Twine(shape->back()));
      return failure();
    }
    shape->back() /= 2;
  }
  results.push_back(
      RankedTensorType::get(*shape, elementTypeOf(adaptor.getInput())));
  return success();
}

LogicalResult LinearOp::verify() {
  if (failed(verifySameElementType(*this, getInput(), {getWeight(), getBias()},
                                   "weight/bias")))
    return failure();
  if (failed(verifySameElementType(*this, getInput(), getEpilogueInputs(),
                                   "epilogue input")))
    return failure();
  int64_t n = getNumWeightFeatures();
  if (getGated() && n % 2 != 0)
    return emitOpError("a gated linear needs an even number of weight "
                       "features, got ")
           << n;
  if (getGated() && getNumOutputFeatures() * 2 != n)
    return emitOpError("a gated linear has half the weight's ")
           << n << " features, got " << getNumOutputFeatures();
  if (Value bias = getBias()) {
    ArrayRef<int64_t> b = shapeOf(bias);
    if (b.size() != 1 || !dimsCompatible(b[0], n))
      return emitOpError("bias must be [") << n << "], got " << formatShape(b);
  }
  ArrayRef<int64_t> out = getType().getShape();
  for (Value in : getEpilogueInputs())
    if (!isBroadcastableTo(shapeOf(in), out))
      return emitOpError("epilogue input of shape ")
             << formatShape(shapeOf(in)) << " does not broadcast to the result "
             << formatShape(out);
  if (!hasEpilogue()) {
    if (getGated())
      return emitOpError("a gated linear needs an epilogue that combines the "
                         "two halves");
    if (!getEpilogueInputs().empty())
      return emitOpError("epilogue inputs given without an epilogue region");
    return success();
  }
  Block &body = getEpilogue().front();
  Type elt = getType().getElementType();
  unsigned accs = getNumAccumulators();
  if (body.getNumArguments() != accs + getEpilogueInputs().size())
    return emitOpError("epilogue block must take ")
           << (accs == 2 ? "both accumulators" : "the accumulator")
           << " and one element per epilogue input ("
           << accs + getEpilogueInputs().size() << " arguments), got "
           << body.getNumArguments();
  for (BlockArgument arg : body.getArguments())
    if (arg.getType() != elt)
      return emitOpError("epilogue arguments must be ") << elt << " scalars";
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield || yield.getValues().size() != 1 ||
      yield.getValues()[0].getType() != elt)
    return emitOpError("epilogue must end in 'tfm.yield' of one ")
           << elt << " value";
  for (Operation &op : body.without_terminator()) {
    if (op.getNumRegions() != 0 || !isPure(&op) ||
        !isa<arith::ArithDialect, math::MathDialect>(op.getDialect()))
      return op.emitOpError("is not allowed in a linear epilogue (only pure "
                            "scalar arith/math ops are)");
    for (Type t : op.getResultTypes())
      if (isa<ShapedType>(t))
        return op.emitOpError("epilogue ops must work on scalars");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise binary ops
//===----------------------------------------------------------------------===//

/// Result type of a broadcasting binary op.
static LogicalResult inferBinary(std::optional<Location> loc, Value lhs,
                                 Value rhs, SmallVectorImpl<Type> &results) {
  if (elementTypeOf(lhs) != elementTypeOf(rhs))
    return emitOptionalError(loc, "operand element types differ: ",
                             elementTypeOf(lhs), " vs ", elementTypeOf(rhs));
  InferError err{loc};
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(shapeOf(lhs), shapeOf(rhs), err);
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, elementTypeOf(lhs)));
  return success();
}

#define TFM_BINARY_INFER(OP)                                                   \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &results) {                                        \
    return inferBinary(loc, adaptor.getLhs(), adaptor.getRhs(), results);      \
  }
TFM_BINARY_INFER(AddOp)
TFM_BINARY_INFER(SubOp)
TFM_BINARY_INFER(MulOp)
TFM_BINARY_INFER(DivOp)
TFM_BINARY_INFER(PowOp)
#undef TFM_BINARY_INFER

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(std::optional<Location> loc, Value input,
                                 ArrayRef<int64_t> axes, bool keepDims,
                                 SmallVectorImpl<Type> &results) {
  InferError err{loc};
  FailureOr<SmallVector<int64_t>> shape =
      inferReduceShape(shapeOf(input), axes, keepDims, err);
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, elementTypeOf(input)));
  return success();
}

#define TFM_REDUCE_INFER(OP)                                                   \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &results) {                                        \
    return inferReduce(loc, adaptor.getInput(), adaptor.getAxes(),             \
                       adaptor.getKeepDims(), results);                        \
  }
TFM_REDUCE_INFER(ReduceMaxOp)
TFM_REDUCE_INFER(ReduceSumOp)
TFM_REDUCE_INFER(ReduceMeanOp)
#undef TFM_REDUCE_INFER

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType();
  auto out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("reshape cannot change the element type");
  return verifyReshapeShapes(in.getShape(), out.getShape(),
                             [&](const Twine &msg) { emitOpError(msg); });
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  InferError err{loc};
  ArrayRef<int64_t> in = shapeOf(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (failed(verifyPermutation(perm, in.size(), err)))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(in[p]);
  results.push_back(
      RankedTensorType::get(shape, elementTypeOf(adaptor.getInput())));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "concat needs at least one input");
  InferError err{loc};
  ArrayRef<int64_t> first = shapeOf(inputs[0]);
  int64_t axis = adaptor.getAxis();
  if (failed(verifyAxis(axis, first.size(), "concatenation axis", err)))
    return failure();
  SmallVector<int64_t> shape(first);
  for (Value v : inputs.drop_front()) {
    ArrayRef<int64_t> s = shapeOf(v);
    if (elementTypeOf(v) != elementTypeOf(inputs[0]))
      return emitOptionalError(loc,
                               "concat inputs have different element types");
    if (s.size() != first.size())
      return emitOptionalError(loc, "concat inputs have different ranks");
    for (size_t i = 0; i < s.size(); ++i) {
      if (static_cast<int64_t>(i) == axis) {
        shape[i] =
            ShapedType::isDynamic(shape[i]) || ShapedType::isDynamic(s[i])
                ? ShapedType::kDynamic
                : shape[i] + s[i];
      } else if (!dimsCompatible(s[i], first[i])) {
        return emitOptionalError(loc, "concat inputs ", formatShape(first),
                                 " and ", formatShape(s),
                                 " differ in dimension ", i);
      }
    }
  }
  results.push_back(RankedTensorType::get(shape, elementTypeOf(inputs[0])));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  InferError err{loc};
  ArrayRef<int64_t> in = shapeOf(adaptor.getInput());
  int64_t axis = adaptor.getAxis();
  if (failed(verifyAxis(axis, in.size(), "slice axis", err)))
    return failure();
  int64_t start = adaptor.getStart(), end = adaptor.getEnd();
  if (start < 0 || end <= start ||
      (!ShapedType::isDynamic(in[axis]) && end > in[axis]))
    return emitOptionalError(loc, "slice [", start, ":", end,
                             ") is empty or outside dimension ", axis,
                             " of size ", in[axis]);
  SmallVector<int64_t> shape(in);
  shape[axis] = end - start;
  results.push_back(
      RankedTensorType::get(shape, elementTypeOf(adaptor.getInput())));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  InferError err{loc};
  ArrayRef<int64_t> in = shapeOf(adaptor.getInput());
  int64_t axis = adaptor.getAxis();
  if (failed(verifyAxis(axis, in.size(), "gather axis", err)))
    return failure();
  SmallVector<int64_t> shape(in.take_front(axis));
  llvm::append_range(shape, shapeOf(adaptor.getIndices()));
  llvm::append_range(shape, in.drop_front(axis + 1));
  results.push_back(
      RankedTensorType::get(shape, elementTypeOf(adaptor.getInput())));
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax and normalisation
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(getAxis(), getType().getRank(), "softmax axis",
                    [&](const Twine &m) { (void)emitOpError(m); });
}

/// Shared rules of layer_norm/rms_norm and their residual-fused forms.
static LogicalResult verifyNorm(Operation *op, Value input, int64_t axis,
                                double epsilon, Value scale, Value bias) {
  auto emit = [&](const Twine &m) { (void)op->emitOpError(m); };
  ArrayRef<int64_t> in = shapeOf(input);
  if (failed(verifyAxis(axis, in.size(), "normalisation axis", emit)))
    return failure();
  if (!(epsilon >= 0.0))
    return op->emitOpError("epsilon must be non-negative, got ") << epsilon;
  if (scale && failed(verifyNormParam(in, axis, shapeOf(scale), "scale", emit)))
    return failure();
  if (bias && failed(verifyNormParam(in, axis, shapeOf(bias), "bias", emit)))
    return failure();
  return verifySameElementType(op, input, {scale, bias}, "scale/bias");
}

LogicalResult LayerNormOp::verify() {
  if (getType() != getInput().getType())
    return emitOpError("result type must equal the input type");
  return verifyNorm(*this, getInput(), getAxis(),
                    getEpsilon().convertToDouble(), getScale(), getBias());
}

LogicalResult RMSNormOp::verify() {
  if (getType() != getInput().getType())
    return emitOpError("result type must equal the input type");
  return verifyNorm(*this, getInput(), getAxis(),
                    getEpsilon().convertToDouble(), getScale(), Value());
}

template <typename OpTy>
static LogicalResult verifyAddNorm(OpTy op, Value bias) {
  Type t = op.getInput().getType();
  if (op.getResidual().getType() != t)
    return op.emitOpError("residual type ")
           << op.getResidual().getType() << " differs from the input type "
           << t;
  if (op.getOutput().getType() != t || op.getSum().getType() != t)
    return op.emitOpError("both results must have the input type ") << t;
  return verifyNorm(op, op.getInput(), op.getAxis(),
                    op.getEpsilon().convertToDouble(), op.getScale(), bias);
}

LogicalResult AddLayerNormOp::verify() {
  return verifyAddNorm(*this, getBias());
}
LogicalResult AddRMSNormOp::verify() { return verifyAddNorm(*this, Value()); }

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  InferError err{loc};
  FailureOr<AttentionDims> dims = inferAttentionDims(
      shapeOf(adaptor.getQuery()), shapeOf(adaptor.getKey()),
      shapeOf(adaptor.getValue()), adaptor.getNumHeads(), err,
      adaptor.getNumKvHeads() ? *adaptor.getNumKvHeads() : 0);
  if (failed(dims))
    return failure();
  results.push_back(RankedTensorType::get(attentionResultShape(*dims),
                                          elementTypeOf(adaptor.getQuery())));
  return success();
}

int64_t AttentionOp::getHeadDim() {
  ArrayRef<int64_t> q = shapeOf(getQuery());
  return hasExplicitHeads() ? q[3] : q[2] / getNumHeads();
}

LogicalResult AttentionOp::verify() {
  if (failed(verifySameElementType(*this, getQuery(),
                                   {getKey(), getValue(), getMask()},
                                   "key/value/mask")))
    return failure();
  double scale = getScale().convertToDouble();
  if (!(scale > 0.0) || std::isinf(scale))
    return emitOpError("scale must be a positive finite number, got ") << scale;
  if (getOffset() && !getCausal())
    return emitOpError("an offset only applies to causal attention");
  if (std::optional<int64_t> w = getWindow()) {
    if (!getCausal())
      return emitOpError("a sliding window only applies to causal attention");
    if (*w <= 0)
      return emitOpError("window must be positive, got ") << *w;
  }
  FailureOr<AttentionDims> dims = inferAttentionDims(
      shapeOf(getQuery()), shapeOf(getKey()), shapeOf(getValue()),
      getNumHeads(), [&](const Twine &m) { (void)emitOpError(m); },
      getKVHeads());
  if (failed(dims))
    return failure();
  if (Value mask = getMask()) {
    SmallVector<int64_t> scores = {dims->batch, dims->heads, dims->querySeq,
                                   dims->keySeq};
    if (!isBroadcastableTo(shapeOf(mask), scores))
      return emitOpError("mask of shape ")
             << formatShape(shapeOf(mask))
             << " does not broadcast to the scores " << formatShape(scores)
             << " ([batch, heads, query, key])";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// TableGen'd definitions
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmInterfaces.cpp.inc"
#include "tfm/IR/TfmOpsEnums.cpp.inc"

#define GET_OP_CLASSES
#include "tfm/IR/TfmOps.cpp.inc"
