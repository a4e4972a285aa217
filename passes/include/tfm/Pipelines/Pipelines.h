//===- Pipelines.h - tfm pass pipelines -------------------------*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PIPELINES_PIPELINES_H
#define TFM_PIPELINES_PIPELINES_H

#include "tfm/Conversion/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::tfm {

struct FusionPipelineOptions
    : public PassPipelineOptions<FusionPipelineOptions> {
  PassOptions::Option<bool> remarks{
      *this, "remarks",
      llvm::cl::desc("Emit a remark per candidate site: fused into what, or "
                     "why not"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> mergeQKV{
      *this, "merge-qkv",
      llvm::cl::desc("Merge linears that read the same input"),
      llvm::cl::init(true)};
};

/// Fused tfm IR to kernels on buffers: the plan for the CPU, then
/// tfm-lower-to-cpu and the C ABI wrappers (the `--emit=linalg` stage).
/// Fails (through `error`) on inconsistent options.
LogicalResult
buildCpuLoopsPipeline(OpPassManager &pm, const LowerToCPUPassOptions &opts,
                      llvm::function_ref<void(const llvm::Twine &)> error);
/// The planned module (buildCpuPlanPipeline's result) to kernels on buffers:
/// tfm-lower-to-cpu and the C ABI wrappers. buildCpuLoopsPipeline is
/// buildCpuPlanPipeline, then this.
void buildCpuLowerPlanPipeline(OpPassManager &pm,
                               const LowerToCPUPassOptions &opts);
/// The result of buildCpuLoopsPipeline to the LLVM dialect: loops to OpenMP,
/// math approximations, vectors, memrefs, everything to LLVM.
void buildCpuToLLVMPipeline(OpPassManager &pm);
/// buildCpuLoopsPipeline, then buildCpuToLLVMPipeline.
LogicalResult
buildCpuLoweringPipeline(OpPassManager &pm, const LowerToCPUPassOptions &opts,
                         llvm::function_ref<void(const llvm::Twine &)> error);
/// The plan for the CPU alone (the `--emit=plan` stage).
LogicalResult
buildCpuPlanPipeline(OpPassManager &pm, const LowerToCPUPassOptions &opts,
                     llvm::function_ref<void(const llvm::Twine &)> error);

/// Recompose exporter-style primitives, then fuse attention, residual+norm,
/// QKV projections and GEMM epilogues, with canonicalisation and CSE between.
/// Runs on every func.func of a module. Shared by every backend.
void buildFusionPipeline(OpPassManager &pm, const FusionPipelineOptions &opts);

/// Registers `tfm-fusion-pipeline`, `tfm-cpu-plan-pipeline` and
/// `tfm-cpu-pipeline` for tfmc-opt.
void registerTfmPipelines();

} // namespace mlir::tfm

#endif // TFM_PIPELINES_PIPELINES_H
