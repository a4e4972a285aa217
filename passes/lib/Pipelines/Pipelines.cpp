//===- Pipelines.cpp - tfm pass pipelines ---------------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::tfm;

void mlir::tfm::buildFusionPipeline(OpPassManager &pm,
                                    const FusionPipelineOptions &opts) {
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createCanonicalizerPass());
  // 1. Recompose exporter-style primitives into the primitive-level ops.
  fn.addPass(createRecomposeSoftmaxPass({opts.remarks}));
  fn.addPass(createRecomposeNormPass({opts.remarks}));
  fn.addPass(createRecomposeActivationsPass({opts.remarks}));
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createCSEPass());
  // 2. Fuse into the fused-level ops.
  fn.addPass(createFuseAttentionPass({opts.remarks}));
  fn.addPass(createFuseResidualNormPass({opts.remarks}));
  if (opts.mergeQKV)
    fn.addPass(createMergeQKVPass({opts.remarks, /*minGroup=*/2}));
  fn.addPass(createFuseEpiloguePass({opts.remarks}));
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createCSEPass());
}

void mlir::tfm::registerTfmPipelines() {
  PassPipelineRegistration<FusionPipelineOptions>(
      "tfm-fusion-pipeline",
      "Recompose softmax/norms/activations, fuse attention, residual+norm, "
      "QKV projections and GEMM epilogues",
      buildFusionPipeline);
}
