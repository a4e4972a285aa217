//===- MatchUtils.h - helpers for matching tfm subgraphs --------*- C++ -*-===//
//
// Part of tfmc. Small, composable matchers shared by the fusion patterns
// (and available to pass plugins).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_MATCHUTILS_H
#define TFM_TRANSFORMS_MATCHUTILS_H

#include "mlir/IR/Value.h"

#include <optional>
#include <string>

namespace mlir::tfm {

/// The value of a splat float constant (tfm.constant), any shape.
std::optional<double> getSplatValue(Value v);

/// True when every use of `v` is by one of `users`.
bool onlyUsedBy(Value v, ArrayRef<Operation *> users);

/// `v = x * c` with a compile-time constant c that does not change x's
/// shape: tfm.scale, tfm.mul by a splat (either side) or tfm.div by a splat.
struct Scaled {
  Value input;
  double factor;
  Operation *op;
};
std::optional<Scaled> matchScaled(Value v);

/// `v = x + c` with a splat constant c that does not change x's shape.
std::optional<std::pair<Value, double>> matchAddConstant(Value v);

/// Element type of a shaped value.
Type elementTypeOf(Value v);

/// A constant as written in remarks ("0.125", "1e-05").
std::string formatNumber(double v);

/// Relative closeness of two doubles (for recognising written constants).
bool approxEqual(double a, double b, double relTol = 1e-6);

} // namespace mlir::tfm

#endif // TFM_TRANSFORMS_MATCHUTILS_H
