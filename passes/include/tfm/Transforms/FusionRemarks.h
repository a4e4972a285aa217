//===- FusionRemarks.h - why each fusion did or did not happen --*- C++ -*-===//
//
// Part of tfmc. Fusion patterns report decisions here; after the rewrite
// converges the pass emits one MLIR remark per candidate site: "fused into
// tfm.X" or "not fused into tfm.X: <the pattern's refusal reason>". The
// collector is also the rewrite listener, so refusals recorded against ops
// that were later fused (or erased) are dropped.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_FUSIONREMARKS_H
#define TFM_TRANSFORMS_FUSIONREMARKS_H

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::tfm {

class FusionRemarks final : public RewriterBase::Listener {
public:
  /// A successful fusion whose result is `op` (reported unless `op` is
  /// itself fused into something else later in the same run).
  void fused(Operation *op, StringRef into);
  /// A candidate `anchor` the pattern for `into` refused; the latest reason
  /// for an anchor wins.
  void refused(Operation *anchor, StringRef into, const Twine &why);
  /// Emits the collected remarks under `root`, in program order.
  void emit(Operation *root);

  void notifyOperationErased(Operation *op) override {
    refusals.erase(op);
    fusions.erase(op);
  }

private:
  struct Refusal {
    std::string into, why;
  };
  llvm::MapVector<Operation *, std::string> fusions;
  llvm::MapVector<Operation *, Refusal> refusals;
};

/// Refuses a candidate: a notifyMatchFailure with the reason and, when
/// remarks are collected, a recorded refusal for --fusion-remarks.
LogicalResult refuse(PatternRewriter &rewriter, FusionRemarks *remarks,
                     Operation *anchor, StringRef into, const Twine &why);

/// Name of the model-level scope of a location ("layers.0.self_attn"), or "".
std::string scopeName(Location loc);

} // namespace mlir::tfm

#endif // TFM_TRANSFORMS_FUSIONREMARKS_H
