//===- Transforms.h - tfm rewrite pattern entry points ----------*- C++ -*-===//
//
// Part of tfmc. Patterns live outside passes: each pass only collects the
// patterns of its populate function and runs them, so pipelines, tools and
// user passes can combine them freely.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_TRANSFORMS_H
#define TFM_TRANSFORMS_TRANSFORMS_H

#include "tfm/IR/TfmOps.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <functional>

namespace mlir::tfm {

class FusionRemarks;

/// Decides per candidate op whether a pattern may rewrite it (true = allowed).
using ControlFn = std::function<bool(Operation *)>;

/// Expands composite tfm ops (AggregatedOpInterface) into primitives.
void populateDecomposePatterns(RewritePatternSet &patterns,
                               const ControlFn &control = {});

/// Chooses the storage element type of a weight (the weight's own type to
/// leave it as it is).
using WeightTypeFn = std::function<Type(WeightOp)>;

/// f32 GEMM/embedding weights -> `storage(w)` weights widened by tfm.convert.
void populateConvertWeightsPatterns(RewritePatternSet &patterns,
                                    WeightTypeFn storage);
/// Which linear-weight uses read a quantized weight (tfm-quantize-weights).
using QuantizeUseFn = std::function<bool(OpOperand &)>;
/// f32 matrices read as tfm.linear weights -> `quantized` weights; uses
/// `quantize` rejects (and embedding tables) read an unquantized copy.
void populateQuantizeWeightsPatterns(RewritePatternSet &patterns,
                                     QuantAttr quant, QuantizeUseFn quantize);
/// The tfm.linear ops whose results `func` returns (through views): the
/// LM head of a language model.
llvm::SmallPtrSet<Operation *, 4> returnedLinears(Operation *func);

/// True when every use of `w` is the weight of a tfm.linear or the table
/// of a tfm.embedding (the uses whose kernels widen while they load).
bool isReadByGemmOrGather(Value w);

/// softmax written as primitives -> tfm.softmax.
void populateRecomposeSoftmaxPatterns(RewritePatternSet &patterns,
                                      const ControlFn &control = {},
                                      FusionRemarks *remarks = nullptr);

/// Expanded LayerNorm / RMSNorm -> tfm.layer_norm / tfm.rms_norm.
void populateRecomposeNormPatterns(RewritePatternSet &patterns,
                                   const ControlFn &control = {},
                                   FusionRemarks *remarks = nullptr);

/// Expanded GELU / SiLU -> tfm.gelu / tfm.silu.
void populateRecomposeActivationsPatterns(RewritePatternSet &patterns,
                                          const ControlFn &control = {},
                                          FusionRemarks *remarks = nullptr);

/// Rotary embeddings as primitives (rotate-half or halves) -> tfm.rotary.
void populateRecomposeRotaryPatterns(RewritePatternSet &patterns,
                                     const ControlFn &control = {},
                                     FusionRemarks *remarks = nullptr);

/// Scaled dot-product attention -> tfm.attention.
void populateFuseAttentionPatterns(RewritePatternSet &patterns,
                                   const ControlFn &control = {},
                                   FusionRemarks *remarks = nullptr);

/// add + layer_norm/rms_norm -> tfm.add_layer_norm/tfm.add_rms_norm.
void populateFuseResidualNormPatterns(RewritePatternSet &patterns,
                                      const ControlFn &control = {},
                                      FusionRemarks *remarks = nullptr);

/// matmul/linear + bias + elementwise -> tfm.linear with an epilogue.
void populateFuseEpiloguePatterns(RewritePatternSet &patterns,
                                  const ControlFn &control = {},
                                  FusionRemarks *remarks = nullptr);

/// Linears on one input -> one linear on concatenated weights + slices.
void populateMergeQKVPatterns(RewritePatternSet &patterns,
                              unsigned minGroup = 2,
                              const ControlFn &control = {},
                              FusionRemarks *remarks = nullptr);

/// Runs `patterns` greedily on `root`; with `remarks`, collects and emits a
/// remark per candidate site. Shared by the fusion passes.
LogicalResult applyFusionPatterns(
    Operation *root,
    llvm::function_ref<void(RewritePatternSet &, FusionRemarks *)> populate,
    bool remarks);

} // namespace mlir::tfm

#endif // TFM_TRANSFORMS_TRANSFORMS_H
