//===- ModelBuilder.h - ModelSpec to primitive tfm IR -----------*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTENDS_MODELBUILDER_H
#define TFM_FRONTENDS_MODELBUILDER_H

#include "tfm/Frontends/ModelSpec.h"
#include "tfm/Frontends/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::tfm {

/// Emits the entry points of `spec` as primitive tfm IR, op by op as the
/// seed articles describe (attention as matmul/scale/mask/softmax/matmul,
/// never tfm.attention). Every parameter is checked against `weights`;
/// problems are reported as diagnostics at the model file location.
FailureOr<OwningOpRef<ModuleOp>>
buildModel(MLIRContext *ctx, const ModelSpec &spec, WeightStore &weights);

} // namespace mlir::tfm

#endif // TFM_FRONTENDS_MODELBUILDER_H
