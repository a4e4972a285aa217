//===- QuantizeWeights.cpp - GEMM weights as integer codes and scales -----===//
//
// Part of tfmc. Marks the weights of tfm.linear `quantized`; the weight
// plan stores them as codes and per-group scales and the CPU GEMM
// dequantizes them in registers (docs/quantization.md).
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "tfm-quantize-weights"

namespace mlir::tfm {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

/// Whether `use` is the weight operand of a tfm.linear (not its input).
static bool isLinearWeight(OpOperand &use) {
  auto lin = dyn_cast<LinearOp>(use.getOwner());
  return lin && use.getOperandNumber() == 1 && lin.getInput() != use.get();
}

static bool isEmbeddingTable(OpOperand &use) {
  return isa<EmbeddingOp>(use.getOwner()) && use.getOperandNumber() == 0;
}

llvm::SmallPtrSet<Operation *, 4> mlir::tfm::returnedLinears(Operation *func) {
  llvm::SmallPtrSet<Operation *, 4> heads;
  func->walk([&](func::ReturnOp ret) {
    for (Value v : ret.getOperands()) {
      Operation *def = v.getDefiningOp();
      while (def && isa<ReshapeOp, TransposeOp, SliceOp>(def))
        def = def->getOperand(0).getDefiningOp();
      if (isa_and_nonnull<LinearOp>(def))
        heads.insert(def);
    }
  });
  return heads;
}

namespace {
// Pattern: weight : f32 matrix read by linears
//          -> weight quantized (those linears), weight (everything else)
struct QuantizeWeight final : OpRewritePattern<WeightOp> {
  QuantizeWeight(MLIRContext *ctx, QuantAttr quant, QuantizeUseFn quantize)
      : OpRewritePattern(ctx), quant(quant), quantize(std::move(quantize)) {}

  LogicalResult matchAndRewrite(WeightOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getQuant())
      return rewriter.notifyMatchFailure(op, "already quantized");
    RankedTensorType type = op.getType();
    if (!type.getElementType().isF32() || type.getRank() != 2)
      return rewriter.notifyMatchFailure(op, "not an f32 matrix");
    SmallVector<OpOperand *> quantized;
    for (OpOperand &use : op->getUses()) {
      if (isLinearWeight(use)) {
        if (quantize(use))
          quantized.push_back(&use);
        continue;
      }
      if (!isEmbeddingTable(use))
        return rewriter.notifyMatchFailure(
            op, "read by an op that does not dequantize");
    }
    if (quantized.empty())
      return rewriter.notifyMatchFailure(op, "no linear reads it quantized");
    if (quantized.size() ==
        static_cast<size_t>(std::distance(op->use_begin(), op->use_end()))) {
      rewriter.modifyOpInPlace(op, [&] { op.setQuantAttr(quant); });
      return success();
    }
    // Other readers (an embedding, a skipped LM head) keep the exact
    // weight; the quantizing linears read a copy.
    auto copy = cast<WeightOp>(rewriter.clone(*op));
    rewriter.modifyOpInPlace(copy, [&] { copy.setQuantAttr(quant); });
    for (OpOperand *use : quantized)
      rewriter.modifyOpInPlace(use->getOwner(),
                               [&] { use->set(copy.getResult()); });
    return success();
  }

  QuantAttr quant;
  QuantizeUseFn quantize;
};

struct QuantizeWeightsPass final
    : tfm::impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto emit = [&] { return module.emitError("tfm-quantize-weights: "); };
    QuantAttr quant = QuantAttr::getChecked(
        llvm::function_ref<InFlightDiagnostic()>(emit), &getContext(),
        static_cast<int64_t>(bits), static_cast<int64_t>(group));
    if (!quant)
      return signalPassFailure();
    // A weight some entry reads another way stays exact in all of them
    // (it is then stored once, and every entry computes the same).
    llvm::StringSet<> blocked;
    module.walk([&](WeightOp w) {
      for (OpOperand &use : w->getUses())
        if (!isLinearWeight(use) && !isEmbeddingTable(use))
          blocked.insert(w.getName());
    });
    llvm::SmallPtrSet<Operation *, 4> heads;
    if (skipLmHead)
      module.walk([&](func::FuncOp f) {
        for (Operation *h : returnedLinears(f))
          heads.insert(h);
      });
    RewritePatternSet patterns(&getContext());
    populateQuantizeWeightsPatterns(patterns, quant, [&](OpOperand &use) {
      auto w = use.get().getDefiningOp<WeightOp>();
      return w && !blocked.contains(w.getName()) &&
             !heads.contains(use.getOwner());
    });
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateQuantizeWeightsPatterns(RewritePatternSet &patterns,
                                                QuantAttr quant,
                                                QuantizeUseFn quantize) {
  patterns.add<QuantizeWeight>(patterns.getContext(), quant,
                               std::move(quantize));
}
