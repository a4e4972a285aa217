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

/// The scratch of the CPU kernel of tfm.moe: `fixed` bytes of routing
/// counters (per expert: its first routed row, then a cursor), then pieces
/// of `rows` rows each, back to back: the routed rows' token indices and
/// routing weights (top_k per row), one expert's hidden activations
/// [rows, F], and the partial sums of the down [rows, D] and gate/up
/// [rows, 2F panels] GEMMs when they split K. `rowsBound` is the static row
/// count, or -1.
struct MoEScratch {
  int64_t fixed = 0;
  int64_t permRow = 0, weightRow = 0, hiddenRow = 0, downPartialRow = 0,
          gatePartialRow = 0;
  bool splitGate = false, splitDown = false;
  int64_t bytes(int64_t rows) const {
    return fixed + rows * (permRow + weightRow + hiddenRow + downPartialRow +
                           gatePartialRow);
  }
};
MoEScratch moeScratch(int64_t experts, int64_t topK, int64_t d, int64_t f,
                      int64_t elementBytes, int64_t rowsBound,
                      const CpuKernelParams &params);

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
