//===- Passes.h - tfm graph transformations ---------------------*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_PASSES_H
#define TFM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "tfm/IR/TfmOps.h"

#include "mlir/Pass/Pass.h"

#include <functional>

namespace mlir::tfm {

#define GEN_PASS_DECL
#include "tfm/Transforms/Passes.h.inc"

/// tfm-convert-weights with a per-weight storage type (the weight's own
/// type leaves it as it is).
std::unique_ptr<Pass>
createConvertWeightsPass(std::function<Type(WeightOp)> storage);

#define GEN_PASS_REGISTRATION
#include "tfm/Transforms/Passes.h.inc"

} // namespace mlir::tfm

#endif // TFM_TRANSFORMS_PASSES_H
