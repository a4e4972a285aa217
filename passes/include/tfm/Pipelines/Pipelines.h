//===- Pipelines.h - tfm pass pipelines -------------------------*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PIPELINES_PIPELINES_H
#define TFM_PIPELINES_PIPELINES_H

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

/// Recompose exporter-style primitives, then fuse attention, residual+norm,
/// QKV projections and GEMM epilogues, with canonicalisation and CSE between.
/// Runs on every func.func of a module. Shared by every backend.
void buildFusionPipeline(OpPassManager &pm, const FusionPipelineOptions &opts);

/// Registers `tfm-fusion-pipeline` (and later pipelines) for tfmc-opt.
void registerTfmPipelines();

} // namespace mlir::tfm

#endif // TFM_PIPELINES_PIPELINES_H
