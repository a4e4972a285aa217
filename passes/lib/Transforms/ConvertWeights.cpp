//===- ConvertWeights.cpp - GEMM and embedding weights in half precision --===//
//
// Part of tfmc. Changes the storage type of weights that only GEMM and
// gather kernels read; a tfm.convert keeps the computation in f32 and the
// plan fuses it into those kernels' loads (tfm/Plan/Plan.h).
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "tfm-convert-weights"

namespace mlir::tfm {
#define GEN_PASS_DEF_CONVERTWEIGHTSPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

bool mlir::tfm::isReadByGemmOrGather(Value w) {
  if (w.use_empty())
    return false;
  for (OpOperand &use : w.getUses()) {
    if (auto lin = dyn_cast<LinearOp>(use.getOwner());
        lin && use.get() == lin.getWeight() && lin.getInput() != w)
      continue;
    if (auto e = dyn_cast<EmbeddingOp>(use.getOwner());
        e && use.getOperandNumber() == 0)
      continue;
    return false;
  }
  return true;
}

namespace {
// Pattern: weight : f32 read by linears/embeddings
//          -> convert(weight : dtype) : f32
struct NarrowWeight final : OpRewritePattern<WeightOp> {
  NarrowWeight(MLIRContext *ctx, WeightTypeFn storage)
      : OpRewritePattern(ctx), storage(std::move(storage)) {}

  LogicalResult matchAndRewrite(WeightOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    if (!type.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not an f32 weight");
    if (op.getQuant())
      return rewriter.notifyMatchFailure(op, "stored quantized");
    if (type.getRank() < 2)
      return rewriter.notifyMatchFailure(op, "vectors stay f32");
    if (!isReadByGemmOrGather(op))
      return rewriter.notifyMatchFailure(op, "read by an op whose kernel does "
                                             "not widen while it loads");
    Type elt = storage(op);
    if (!elt || elt == type.getElementType())
      return rewriter.notifyMatchFailure(op, "stays in its type");
    auto stored = RankedTensorType::get(type.getShape(), elt);
    auto narrow =
        WeightOp::create(rewriter, op.getLoc(), stored, op.getNameAttr(),
                         op.getPartsAttr(), op.getConcatAxisAttr());
    auto widen = ConvertOp::create(rewriter, op.getLoc(), type, narrow);
    rewriter.replaceOp(op, widen.getResult());
    return success();
  }

  WeightTypeFn storage;
};

struct ConvertWeightsPass final
    : tfm::impl::ConvertWeightsPassBase<ConvertWeightsPass> {
  using Base::Base;
  ConvertWeightsPass() = default;
  explicit ConvertWeightsPass(WeightTypeFn storage)
      : storage(std::move(storage)) {}

  /// Per-weight choice (tfmc --weight-dtype=auto); the dtype option when
  /// null.
  WeightTypeFn storage;

  /// Runs the pattern with `choose`, except on the weights some entry
  /// reads in a way no kernel widens (they stay as they are everywhere).
  void convert(WeightTypeFn choose) {
    llvm::StringSet<> blocked;
    getOperation().walk([&](WeightOp w) {
      if (w.getType().getRank() < 2 || !isReadByGemmOrGather(w))
        blocked.insert(w.getName());
    });
    RewritePatternSet patterns(&getContext());
    populateConvertWeightsPatterns(patterns, [&](WeightOp w) -> Type {
      if (blocked.contains(w.getName()))
        return w.getType().getElementType();
      return choose(w);
    });
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    if (storage)
      return convert(storage);
    Type elt = dtype == "bf16"  ? Type(BFloat16Type::get(ctx))
               : dtype == "f16" ? Type(Float16Type::get(ctx))
               : dtype == "f32" ? Type(Float32Type::get(ctx))
                                : Type();
    if (!elt) {
      getOperation().emitError("tfm-convert-weights: dtype must be bf16, f16 "
                               "or f32, got '")
          << dtype << "'";
      return signalPassFailure();
    }
    convert([elt](WeightOp) { return elt; });
  }
};
} // namespace

std::unique_ptr<Pass>
mlir::tfm::createConvertWeightsPass(WeightTypeFn storage) {
  return std::make_unique<ConvertWeightsPass>(std::move(storage));
}

void mlir::tfm::populateConvertWeightsPatterns(RewritePatternSet &patterns,
                                               WeightTypeFn storage) {
  patterns.add<NarrowWeight>(patterns.getContext(), std::move(storage));
}
