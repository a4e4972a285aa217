//===- CpuTarget.h - the CPU kernels' parameters and plan -------*- C++ -*-===//
//
// Part of tfmc. The one place the CPU backend's tuning knobs live: they are
// declared (with their defaults and help) as the options of
// tfm-lower-to-cpu in Passes.td, whose generated LowerToCPUPassOptions is
// what the driver, the pipelines and the plan take. This header resolves
// them (automatic micro-kernel sizes) and derives the plan's view of the
// target.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_CPUTARGET_H
#define TFM_CONVERSION_CPUTARGET_H

#include "tfm/Conversion/Passes.h"
#include "tfm/Plan/Plan.h"

namespace mlir::tfm {

/// LowerToCPUPassOptions with every automatic choice made.
struct CpuKernelParams {
  unsigned vectorWidth, gemmMR, gemmNR, gemmKC, gemmMC;
  unsigned attentionBlockQ, attentionBlockK;
  int64_t maxPositions;
};

/// Resolves the micro-kernel shape (MR rows of NR/lanes vectors fit the
/// register file); fails through `error` on inconsistent options.
FailureOr<CpuKernelParams>
resolveCpuKernelParams(const LowerToCPUPassOptions &options,
                       llvm::function_ref<void(const llvm::Twine &)> error);

/// The plan's view of the CPU: NR-wide panels, 64-byte alignment, entry
/// tensors in caller buffers, tied embeddings read from panels, and the
/// scratch of run-time packing (cpuScratchBytes).
PlanOptions cpuPlanOptions(const CpuKernelParams &params);

/// True when the GEMM splits K into blocks: K longer than twice gemm-kc and
/// more than a few rows (`m`, dynamic or static). Blocks keep a B slice in
/// L1 across row groups; a few rows (decode) have no such reuse, so one
/// pass saves the partial-sum round trips and a parallel region per block.
/// Partial sums go through memory between blocks.
inline constexpr int64_t kGemmMaxUnsplitRows = 4;
inline bool gemmSplitsK(int64_t k, int64_t kc, int64_t m) {
  return k > 2 * kc && (m < 0 || m > kGemmMaxUnsplitRows);
}
/// Columns of a gated GEMM's partial sums (`h` results, gemm-nr `nr`): both
/// halves of every 2*nr-wide panel.
inline int64_t gatedPartialColumns(int64_t h, int64_t nr) {
  return (h + nr - 1) / nr * 2 * nr;
}

/// Scratch bytes the CPU kernel of `op` needs: run-time GEMM panels of an
/// activation operand, a broadcast epilogue input, the partial sums of a
/// gated GEMM split along K.
int64_t cpuScratchBytes(Operation *op, ShapeBounds &bounds,
                        const CpuKernelParams &params);

/// Parses a tfm-lower-to-cpu option string ("gemm-kc=256 vector-width=16").
LogicalResult
parseCpuOptions(llvm::StringRef text, LowerToCPUPassOptions &options,
                llvm::function_ref<LogicalResult(const llvm::Twine &)> error);

/// Registers the "cpu" plan target (default options) for
/// tfm-plan-buffers{target=cpu}.
void registerCpuPlanTarget();

} // namespace mlir::tfm

#endif // TFM_CONVERSION_CPUTARGET_H
