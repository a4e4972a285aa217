//===- Transforms.h - tfm rewrite pattern entry points ----------*- C++ -*-===//
//
// Part of tfmc. Patterns live outside passes: each pass only collects the
// patterns of its populate function and runs them, so pipelines, tools and
// user passes can combine them freely.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_TRANSFORMS_H
#define TFM_TRANSFORMS_TRANSFORMS_H

#include "mlir/IR/PatternMatch.h"

#include <functional>

namespace mlir::tfm {

/// Decides per candidate op whether a pattern may rewrite it (true = allowed).
using ControlFn = std::function<bool(Operation *)>;

/// Expands composite tfm ops (AggregatedOpInterface) into primitives.
void populateDecomposePatterns(RewritePatternSet &patterns,
                               const ControlFn &control = {});

} // namespace mlir::tfm

#endif // TFM_TRANSFORMS_TRANSFORMS_H
