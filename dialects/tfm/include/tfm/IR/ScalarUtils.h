//===- ScalarUtils.h - arith/math builders for element math -----*- C++ -*-===//
//
// Part of tfmc. Builders shared by the ScalarComputeOpInterface
// implementations and the backends. Every builder accepts scalars or vectors.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_SCALARUTILS_H
#define TFM_IR_SCALARUTILS_H

#include "tfm/IR/TfmOps.h"

namespace mlir::tfm {

/// An arith.constant of `type` (a float scalar or a float vector splat).
Value buildFloatConstant(OpBuilder &b, Location loc, Type type, double value);

/// 1 / (1 + exp(-x)).
Value buildSigmoid(OpBuilder &b, Location loc, Value x);

/// `x` (a scalar or vector) converted to element type `to`, as
/// tfm.convert defines it.
Value buildConvert(OpBuilder &b, Location loc, Value x, Type to);

/// GELU in its erf or tanh form.
Value buildGelu(OpBuilder &b, Location loc, Value x, GeluApproximation approx);

} // namespace mlir::tfm

#endif // TFM_IR_SCALARUTILS_H
