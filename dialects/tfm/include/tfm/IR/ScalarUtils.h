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

/// The activation `kind` (as tfm.relu, tfm.gelu, tfm.silu compute it).
Value buildActivation(OpBuilder &b, Location loc, Value x, ActivationKind kind);

/// tfm.rotary's θ_i = 1 / base^(2i/R) in f32, rounded at each step as
/// PyTorch (Hugging Face's rotary embeddings) computes it.
float rotaryTheta(double base, int64_t i, int64_t rotaryDims);

/// Row `p` of tfm.rotary's table: cos(fl(q θ_i)) for i < R/2, then
/// sin(fl(q θ_i)), each correctly rounded from double; q = fl(p / scaling).
void rotaryTableRow(double base, int64_t p, int64_t rotaryDims, float *row,
                    double scaling = 1.0);

/// T5's relative position buckets (tfm.relative_position_bias): the
/// distances with a bucket each, `num_buckets / 2` (a quarter when
/// bidirectional).
int64_t relativeMaxExact(int64_t numBuckets, bool bidirectional);

/// The bucket of relative distance `rel` (key position - query position)
/// as transformers' T5 computes it in PyTorch's f32 arithmetic.
int64_t relativePositionBucket(int64_t rel, int64_t numBuckets,
                               int64_t maxDistance, bool bidirectional);

/// The logarithmic buckets as thresholds on the distance magnitude `a`
/// (|rel|, or -rel for causal buckets): for `a >= max_exact` the bucket
/// within its half is max_exact + #{t in thresholds : a >= t}. Kernels use
/// these integer comparisons instead of a log whose rounding differs
/// from PyTorch's.
llvm::SmallVector<int64_t> relativeBucketThresholds(int64_t numBuckets,
                                                    int64_t maxDistance,
                                                    bool bidirectional);

} // namespace mlir::tfm

#endif // TFM_IR_SCALARUTILS_H
