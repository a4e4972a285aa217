//===- Pipelines.cpp - tfm pass pipelines ---------------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"

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

void mlir::tfm::buildCpuLoopsPipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &opts) {
  LowerToCPUPassOptions lower;
  lower.vectorWidth = opts.vectorWidth;
  lower.gemmMR = opts.gemmMR;
  lower.gemmNR = opts.gemmNR;
  lower.gemmKC = opts.gemmKC;
  lower.gemmMC = opts.gemmMC;
  lower.attentionBlockQ = opts.attentionBlockQ;
  lower.attentionBlockK = opts.attentionBlockK;
  lower.maxPositions = opts.maxPositions;
  pm.addPass(createLowerToCPUPass(lower));
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createPlanBuffersPass());
  pm.addPass(createEmitEntryWrappersPass());
}

void mlir::tfm::buildCpuToLLVMPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createLegalizeMathForCPUPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  // Dynamic subviews expand into affine.apply: lower affine afterwards.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::tfm::buildCpuLoweringPipeline(OpPassManager &pm,
                                         const CpuPipelineOptions &opts) {
  buildCpuLoopsPipeline(pm, opts);
  buildCpuToLLVMPipeline(pm);
}

void mlir::tfm::registerTfmPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "tfm-cpu-pipeline",
      "Lower fused tfm IR to the LLVM dialect for the CPU",
      buildCpuLoweringPipeline);
  PassPipelineRegistration<FusionPipelineOptions>(
      "tfm-fusion-pipeline",
      "Recompose softmax/norms/activations, fuse attention, residual+norm, "
      "QKV projections and GEMM epilogues",
      buildFusionPipeline);
}
