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

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<unsigned> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes of the target's vectors (4, 8 or 16)"),
      llvm::cl::init(8)};
  PassOptions::Option<unsigned> gemmMR{
      *this, "gemm-mr", llvm::cl::desc("GEMM micro-kernel rows (0: auto)"),
      llvm::cl::init(0)};
  PassOptions::Option<unsigned> gemmNR{
      *this, "gemm-nr", llvm::cl::desc("GEMM micro-kernel columns (0: auto)"),
      llvm::cl::init(0)};
  PassOptions::Option<unsigned> gemmKC{
      *this, "gemm-kc", llvm::cl::desc("GEMM K block"), llvm::cl::init(512)};
  PassOptions::Option<unsigned> gemmMC{
      *this, "gemm-mc", llvm::cl::desc("GEMM rows per work item"),
      llvm::cl::init(128)};
  PassOptions::Option<unsigned> attentionBlockQ{
      *this, "attention-block-q",
      llvm::cl::desc("Queries per attention work item"), llvm::cl::init(128)};
  PassOptions::Option<unsigned> attentionBlockK{
      *this, "attention-block-k",
      llvm::cl::desc("Keys per attention block"), llvm::cl::init(128)};
  PassOptions::Option<int64_t> maxPositions{
      *this, "max-positions",
      llvm::cl::desc("Rows of precomputed positional tables (0: static)"),
      llvm::cl::init(0)};
};

/// Fused tfm IR to kernels on buffers: tfm-lower-to-cpu, buffer planning
/// and C ABI wrappers (the `--emit=linalg` stage).
void buildCpuLoopsPipeline(OpPassManager &pm, const CpuPipelineOptions &opts);
/// The result of buildCpuLoopsPipeline to the LLVM dialect: loops to OpenMP,
/// math approximations, vectors, memrefs, everything to LLVM.
void buildCpuToLLVMPipeline(OpPassManager &pm);
/// Both of the above.
void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &opts);

/// Recompose exporter-style primitives, then fuse attention, residual+norm,
/// QKV projections and GEMM epilogues, with canonicalisation and CSE between.
/// Runs on every func.func of a module. Shared by every backend.
void buildFusionPipeline(OpPassManager &pm, const FusionPipelineOptions &opts);

/// Registers `tfm-fusion-pipeline` (and later pipelines) for tfmc-opt.
void registerTfmPipelines();

} // namespace mlir::tfm

#endif // TFM_PIPELINES_PIPELINES_H
