//===- Pipelines.cpp - tfm pass pipelines ---------------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Conversion/CpuTarget.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Plan/Plan.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
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
  fn.addPass(createRecomposeRotaryPass({opts.remarks}));
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

LogicalResult mlir::tfm::buildCpuPlanPipeline(
    OpPassManager &pm, const LowerToCPUPassOptions &opts,
    llvm::function_ref<void(const llvm::Twine &)> error) {
  FailureOr<CpuKernelParams> params = resolveCpuKernelParams(opts, error);
  if (failed(params))
    return failure();
  buildPlanPipeline(pm, cpuPlanOptions(*params));
  return success();
}

LogicalResult mlir::tfm::buildCpuLoopsPipeline(
    OpPassManager &pm, const LowerToCPUPassOptions &opts,
    llvm::function_ref<void(const llvm::Twine &)> error) {
  if (failed(buildCpuPlanPipeline(pm, opts, error)))
    return failure();
  buildCpuLowerPlanPipeline(pm, opts);
  return success();
}

void mlir::tfm::buildCpuLowerPlanPipeline(OpPassManager &pm,
                                          const LowerToCPUPassOptions &opts) {
  pm.addPass(createLowerToCPUPass(opts));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createEmitEntryWrappersPass());
}

void mlir::tfm::buildCpuToLLVMPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createLegalizeMathForCPUPass());
  // bf16 <-> f32 as integer arithmetic (round to nearest even), which every
  // x86-64 runs without a library call.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
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

LogicalResult mlir::tfm::buildCpuLoweringPipeline(
    OpPassManager &pm, const LowerToCPUPassOptions &opts,
    llvm::function_ref<void(const llvm::Twine &)> error) {
  if (failed(buildCpuLoopsPipeline(pm, opts, error)))
    return failure();
  buildCpuToLLVMPipeline(pm);
  return success();
}

/// A pipeline taking tfm-lower-to-cpu's options as its own.
static void registerCpuPipeline(
    StringRef name, StringRef summary,
    LogicalResult (*build)(OpPassManager &, const LowerToCPUPassOptions &,
                           llvm::function_ref<void(const llvm::Twine &)>)) {
  registerPassPipeline(
      name, summary,
      [build](OpPassManager &pm, StringRef text,
              function_ref<LogicalResult(const Twine &)> errorHandler) {
        LowerToCPUPassOptions opts;
        if (failed(parseCpuOptions(text, opts, errorHandler)))
          return failure();
        bool ok = true;
        LogicalResult r = build(pm, opts, [&](const Twine &msg) {
          ok = false;
          (void)errorHandler(msg);
        });
        return success(ok && succeeded(r));
      },
      [](function_ref<void(const mlir::detail::PassOptions &)>) {});
}

void mlir::tfm::registerTfmPipelines() {
  registerCpuPipeline("tfm-cpu-plan-pipeline",
                      "Plan fused tfm IR for the CPU (tfm-lower-to-cpu's "
                      "options)",
                      buildCpuPlanPipeline);
  registerCpuPipeline("tfm-cpu-pipeline",
                      "Plan fused tfm IR for the CPU and lower it to the "
                      "LLVM dialect (tfm-lower-to-cpu's options)",
                      buildCpuLoweringPipeline);
  PassPipelineRegistration<FusionPipelineOptions>(
      "tfm-fusion-pipeline",
      "Recompose softmax/norms/activations, fuse attention, residual+norm, "
      "QKV projections and GEMM epilogues",
      buildFusionPipeline);
}
