//===- Pipeline.cpp - the planning passes in order ------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

using namespace mlir;
using namespace mlir::tfm;

void mlir::tfm::buildPlanPipeline(OpPassManager &pm, const PlanOptions &opts) {
  pm.addNestedPass<func::FuncOp>(createLegalizeForKernelsPass());
  pm.addPass(createPlanEntriesPass());
  pm.addPass(createPlanWeightsPass(opts));
  pm.addNestedPass<func::FuncOp>(createPlanViewsPass());
  pm.addPass(createPlanBuffersPass(opts));
}
