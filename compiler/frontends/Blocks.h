//===- Blocks.h - the blocks models are composed of -------------*- C++ -*-===//
//
// Part of tfmc. Internal to compiler/frontends. One builder per kind of
// block, each emitting the primitive tfm IR the seed articles describe op
// by op (attention as matmul/scale/mask/softmax/matmul, never
// tfm.attention: the fusion passes find it). A family is a choice of blocks
// (ModelSpec); the model builder (ModelBuilder.cpp) composes them into
// layers and stacks and wraps them in entry points.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTENDS_BLOCKS_H
#define TFM_FRONTENDS_BLOCKS_H

#include "tfm/Frontends/ModelSpec.h"
#include "tfm/Frontends/WeightStore.h"
#include "tfm/IR/TfmOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::tfm::blocks {

/// What every block builder shares: where ops go and come from, and the
/// parameters of the function being built.
class Context {
public:
  Context(MLIRContext *ctx, const ModelSpec &spec, WeightStore &weights)
      : spec(spec), b(ctx), loc(spec.modelLoc), weights(weights) {}

  const ModelSpec &spec;
  OpBuilder b;
  Location loc;

  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  RankedTensorType i64(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getI64Type());
  }
  /// Ops emitted next are located at a named scope ("layers.0.self_attn")
  /// inside the stack's location.
  void at(Stack s, int64_t layer, StringRef part);
  /// A named parameter, checked against the weight store (problems are
  /// reported at the current location, once).
  /// `stored`, when given, is the shape in the checkpoint, reinterpreted
  /// row-major as `shape` (a convolution kernel as a matrix).
  Value weight(Param p, Stack s, int64_t layer, ArrayRef<int64_t> shape,
               WeightStore::Init init, ArrayRef<int64_t> stored = {});
  /// The per-expert parameters `parts` of a mixture-of-experts layer as one
  /// stacked weight [experts, parts.size() * partShape[0], partShape[1]]
  /// named after the layer and `label`: expert e's parts in order
  /// (tfm.weight's stacked concat), each checked against the weight store.
  Value expertStack(StringRef label, ArrayRef<Param> parts, Stack s,
                    int64_t layer, int64_t experts,
                    ArrayRef<int64_t> partShape);
  /// Size of dimension `d` of `v` as an index (a constant when static).
  Value dimOf(Value v, int64_t d);
  /// x W^T + b for a projection [out, in] (or [in, out] as stored).
  Value project(Value x, Param w, Param bias, bool hasBias, Stack s,
                int64_t layer, int64_t out, int64_t in);
  /// A new function: its parameters start afresh.
  void beginFunction() { weightValues.clear(); }
  bool failed() const { return failedWeights; }

private:
  WeightStore &weights;
  bool failedWeights = false;
  /// Weight values of the function being built, by stored name.
  llvm::StringMap<Value> weightValues;
};

/// The KV cache of a generation entry: per layer the self-attention keys
/// and values (state arguments), written at `past`, and their new values.
struct KVCache {
  Value past;
  SmallVector<Value> keys, values;
  SmallVector<Value> newKeys, newValues;
};

/// Inputs of one attention sublayer.
struct AttentionInputs {
  Value query, keyValue; ///< [B, S, d] activations
  Value padMask;         ///< additive [B, 1, 1, Sk] mask, or null
  bool causal = false;
  bool cross = false;
  /// Cross-attention keys and values already projected from the memory
  /// ([B, Sk, kv features]; crossKeyValue), or null: projected here.
  Value key, value;
  KVCache *cache = nullptr; ///< self-attention of a generation entry
  /// Debug entries collect the attention probabilities here.
  SmallVectorImpl<Value> *probs = nullptr;
};

/// Token (+ token type) embeddings, positions, scale and norm; positions
/// start after `past` cached tokens (null: 0).
Value embeddings(Context &c, Value ids, Value tokenTypes, Stack s, Value past);
/// The position block's contribution added to the embeddings (null when
/// the positions act elsewhere or not at all).
Value positions(Context &c, Value ids, Stack s, Value past);
/// layer_norm / rms_norm over the last dimension.
Value norm(Context &c, Value x, Param w, Param bias, Stack s, int64_t layer);
/// The cross-attention keys and values of layer `layer` from the encoder
/// output `memory` [B, Sk, d].
std::pair<Value, Value> crossKeyValue(Context &c, Value memory, Stack s,
                                      int64_t layer);
/// Multi-head (grouped-query) scaled dot-product attention with the
/// output projection.
Value attention(Context &c, const AttentionInputs &in, Stack s, int64_t layer);
/// The plain or gated feed-forward network, or the mixture of experts that
/// replaces it.
Value feedForward(Context &c, Value x, Stack s, int64_t layer);
/// Vision encoders: pixel_values [B, C, H, W] to the [B, 1 + patches, d]
/// token sequence -- the stride-P convolution as a GEMM over patches
/// (reshape + transpose + linear with the kernel as a [d, C*P*P] matrix),
/// the class token in front, learned positions added.
Value patchEmbeddings(Context &c, Value pixels);
/// The class token's row of `x` [B, S, d] as [B, d].
Value classToken(Context &c, Value x);
/// pooler_output: tanh(dense(class token)).
Value pooler(Context &c, Value cls);
/// Classifier logits [B, labels] of the class token.
Value classifier(Context &c, Value cls);
/// T5's relative position bias of stack `s`'s self-attention over the
/// queries of `x` [B, S, d] at positions past + s and `keys` keys (the
/// cache's length when decoding, else S), [1, heads, S, keys], plus the
/// additive padding mask when there is one: computed once and given to
/// every layer as its attention mask.
Value relativeBias(Context &c, Value x, Stack s, Value past, int64_t keys,
                   Value padMask);
/// The additive [batch, 1, 1, keys] mask of an attention_mask (or null).
Value paddingMask(Context &c, Value attentionMask);
/// Logits from the last hidden states.
Value lmHead(Context &c, Value x);

} // namespace mlir::tfm::blocks

#endif // TFM_FRONTENDS_BLOCKS_H
