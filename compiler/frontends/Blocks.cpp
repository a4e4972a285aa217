//===- Blocks.cpp - the blocks models are composed of ---------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::blocks;
using Init = WeightStore::Init;

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

void Context::at(Stack s, int64_t layer, StringRef part) {
  loc = NameLoc::get(b.getStringAttr(spec.naming->scope(s, layer, part)),
                     spec.stack(s).loc);
}

Value Context::weight(Param p, Stack s, int64_t layer, ArrayRef<int64_t> shape,
                      Init init, ArrayRef<int64_t> stored) {
  std::string name = spec.naming->name(p, s, layer);
  // A parameter used twice in a function (tied embeddings) is one value.
  if (Value cached = weightValues.lookup(name))
    return cached;
  if (!failedWeights) {
    if (llvm::Error e =
            weights.require(name, stored.empty() ? shape : stored, init)) {
      emitError(loc) << llvm::toString(std::move(e));
      failedWeights = true;
    }
  }
  Value v = WeightOp::create(
      b, NameLoc::get(b.getStringAttr(name), spec.stack(s).loc), name,
      f32(shape));
  weightValues[name] = v;
  return v;
}

Value Context::expertStack(StringRef label, ArrayRef<Param> parts, Stack s,
                           int64_t layer, int64_t experts,
                           ArrayRef<int64_t> partShape) {
  SmallVector<Attribute> names;
  for (int64_t e = 0; e < experts; ++e)
    for (Param p : parts) {
      std::string name = spec.naming->expertName(p, s, layer, e);
      if (!failedWeights) {
        if (llvm::Error err = weights.require(name, partShape, Init::Normal)) {
          emitError(loc) << llvm::toString(std::move(err));
          failedWeights = true;
        }
      }
      names.push_back(b.getStringAttr(name));
    }
  // The stack's own name (not a stored tensor's): the layer's scope and
  // `label` ("model.layers.0.block_sparse_moe.experts.gate_up").
  std::string stackName =
      spec.naming->scope(s, layer, "moe") + ".experts." + label.str();
  int64_t rows = static_cast<int64_t>(parts.size()) * partShape[0];
  return WeightOp::create(
      b, NameLoc::get(b.getStringAttr(stackName), spec.stack(s).loc),
      f32({experts, rows, partShape[1]}), b.getStringAttr(stackName),
      b.getArrayAttr(names), b.getI64IntegerAttr(0));
}

Value Context::dimOf(Value v, int64_t d) {
  auto t = cast<RankedTensorType>(v.getType());
  if (!t.isDynamicDim(d))
    return arith::ConstantIndexOp::create(b, loc, t.getDimSize(d));
  return tensor::DimOp::create(b, loc, v, d);
}

Value Context::project(Value x, Param w, Param bias, bool hasBias, Stack s,
                       int64_t layer, int64_t out, int64_t in) {
  bool kn = spec.naming->weightsInOut();
  SmallVector<int64_t> wShape =
      kn ? SmallVector<int64_t>{in, out} : SmallVector<int64_t>{out, in};
  Value wv = weight(w, s, layer, wShape, Init::Normal);
  Value bv = hasBias ? weight(bias, s, layer, {out}, Init::Zeros) : Value();
  return LinearOp::create(b, loc, x, wv, bv, kn);
}

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

Value blocks::norm(Context &c, Value x, Param w, Param bias, Stack s,
                   int64_t layer) {
  int64_t axis = cast<RankedTensorType>(x.getType()).getRank() - 1;
  Value g = c.weight(w, s, layer, {c.spec.dModel},
                     c.spec.norm.unitOffset ? Init::Zeros : Init::Ones);
  if (c.spec.norm.unitOffset) {
    // Gemma stores the scale minus one: x / rms(x) * (1 + w).
    auto one = RankedTensorType::get({1}, c.b.getF32Type());
    g = AddOp::create(
        c.b, c.loc, g,
        ConstantOp::create(c.b, c.loc, DenseElementsAttr::get(one, 1.0f)));
  }
  // Epsilon is added in the element type; store the value the kernels use
  // (so IR from --decompose, whose epsilon is an f32 constant, recomposes to
  // exactly the same op).
  FloatAttr eps = c.b.getF64FloatAttr(static_cast<float>(c.spec.norm.eps));
  IntegerAttr ax = c.b.getI64IntegerAttr(axis);
  if (c.spec.norm.kind == NormKind::RMSNorm)
    return RMSNormOp::create(c.b, c.loc, x.getType(), x, g, ax, eps);
  Value bv = c.weight(bias, s, layer, {c.spec.dModel}, Init::Zeros);
  return LayerNormOp::create(c.b, c.loc, x.getType(), x, g, bv, ax, eps);
}

static Value activation(Context &c, Value x) {
  switch (c.spec.ffn.activation) {
  case Activation::ReLU:
    return ReluOp::create(c.b, c.loc, x);
  case Activation::GELU:
    return GeluOp::create(c.b, c.loc, x, GeluApproximation::erf);
  case Activation::GELUTanh:
    return GeluOp::create(c.b, c.loc, x, GeluApproximation::tanh);
  case Activation::SiLU:
    return SiluOp::create(c.b, c.loc, x);
  }
  llvm_unreachable("unknown activation");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// [B, S, H*Dh] -> [B, H, S, Dh]
static Value splitHeads(Context &c, Value x, int64_t heads) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  Value r = ReshapeOp::create(c.b, c.loc,
                              c.f32({s[0], s[1], heads, c.spec.headDim()}), x);
  return TransposeOp::create(c.b, c.loc, r, ArrayRef<int64_t>{0, 2, 1, 3});
}

/// [B, H, S, Dh] -> [B, S, H*Dh]
static Value mergeHeads(Context &c, Value x) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  Value t = TransposeOp::create(c.b, c.loc, x, ArrayRef<int64_t>{0, 2, 1, 3});
  return ReshapeOp::create(c.b, c.loc, c.f32({s[0], s[2], s[1] * s[3]}), t);
}

/// Grouped-query attention without copying keys and values: the
/// [B, H, ...] query-side tensor `x` as [B, Hkv, groups, ...] (query head h
/// is in group h / groups), and a [B, Hkv, ...] key/value-side tensor as
/// [B, Hkv, 1, ...]; the matmuls broadcast the 1 over the groups.
static Value groupHeads(Context &c, Value x, int64_t groups) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  return ReshapeOp::create(c.b, c.loc,
                           c.f32({s[0], s[1] / groups, groups, s[2], s[3]}), x);
}
static Value ungroupHeads(Context &c, Value x) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  return ReshapeOp::create(c.b, c.loc, c.f32({s[0], s[1] * s[2], s[3], s[4]}),
                           x);
}

/// [B, S, H*Dh] rotated per head at positions past + s (tfm.rotary on the
/// [B, S, H, Dh] view).
static Value rotary(Context &c, Value x, int64_t heads, Value past) {
  const PositionConfig &p = c.spec.positions;
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  int64_t dh = c.spec.headDim();
  Value h = ReshapeOp::create(c.b, c.loc, c.f32({s[0], s[1], heads, dh}), x);
  IntegerAttr dims = p.rotaryDim && p.rotaryDim != dh
                         ? c.b.getI64IntegerAttr(p.rotaryDim)
                         : IntegerAttr();
  FloatAttr scaling = p.rotaryScaling != 1.0
                          ? c.b.getF64FloatAttr(p.rotaryScaling)
                          : FloatAttr();
  Value r = RotaryOp::create(
      c.b, c.loc, h.getType(), h, past, c.b.getF64FloatAttr(p.base), dims,
      scaling, p.rotaryInterleaved ? c.b.getUnitAttr() : UnitAttr());
  return ReshapeOp::create(c.b, c.loc, x.getType(), r);
}

std::pair<Value, Value> blocks::crossKeyValue(Context &c, Value memory, Stack s,
                                              int64_t layer) {
  const ModelSpec &spec = c.spec;
  c.at(s, layer, "cross_attn");
  int64_t d = spec.dModel;
  int64_t dkv = spec.attention.kvHeads() * spec.headDim();
  bool bias = spec.attention.bias;
  return {c.project(memory, Param::CrossKWeight, Param::CrossKBias, bias, s,
                    layer, dkv, d),
          c.project(memory, Param::CrossVWeight, Param::CrossVBias, bias, s,
                    layer, dkv, d)};
}

Value blocks::attention(Context &c, const AttentionInputs &in, Stack s,
                        int64_t layer) {
  const ModelSpec &spec = c.spec;
  c.at(s, layer, in.cross ? "cross_attn" : "self_attn");
  int64_t d = spec.dModel, dh = spec.headDim();
  int64_t heads = spec.attention.numHeads, kvHeads = spec.attention.kvHeads();
  int64_t dq = heads * dh, dkv = kvHeads * dh;
  bool bias = spec.attention.bias;
  Value q, k, v;
  if (!in.cross && spec.naming->fusedQKV()) {
    Value qkv = c.project(in.query, Param::SelfQKVWeight, Param::SelfQKVBias,
                          bias, s, layer, dq + 2 * dkv, d);
    q = SliceOp::create(c.b, c.loc, qkv, 2, 0, dq);
    k = SliceOp::create(c.b, c.loc, qkv, 2, dq, dq + dkv);
    v = SliceOp::create(c.b, c.loc, qkv, 2, dq + dkv, dq + 2 * dkv);
  } else if (in.cross) {
    q = c.project(in.query, Param::CrossQWeight, Param::CrossQBias, bias, s,
                  layer, dq, d);
    if (in.key) {
      k = in.key;
      v = in.value;
    } else {
      std::tie(k, v) = crossKeyValue(c, in.keyValue, s, layer);
      c.at(s, layer, "cross_attn");
    }
  } else {
    q = c.project(in.query, Param::SelfQWeight, Param::SelfQBias, bias, s,
                  layer, dq, d);
    k = c.project(in.keyValue, Param::SelfKWeight, Param::SelfKBias, bias, s,
                  layer, dkv, d);
    v = c.project(in.keyValue, Param::SelfVWeight, Param::SelfVBias, bias, s,
                  layer, dkv, d);
  }
  Value past = in.cache ? in.cache->past : Value();
  if (spec.positions.kind == PositionKind::Rotary && !in.cross) {
    // Rotary positions: queries and keys rotated at past + s, before the
    // keys enter the cache.
    q = rotary(c, q, heads, past);
    k = rotary(c, k, kvHeads, past);
  }
  if (KVCache *cache = in.cache) {
    // Generation: this step's keys and values go into the cache at `past`;
    // attention reads the whole cache, the causal mask hides the rows not
    // written yet.
    k = CacheWriteOp::create(c.b, c.loc, cache->keys[layer], k, past, 1);
    v = CacheWriteOp::create(c.b, c.loc, cache->values[layer], v, past, 1);
    cache->newKeys[layer] = k;
    cache->newValues[layer] = v;
  }
  Value qh = splitHeads(c, q, heads);
  Value kh = splitHeads(c, k, kvHeads);
  Value vh = splitHeads(c, v, kvHeads);
  int64_t groups = heads / kvHeads;
  if (groups > 1) {
    qh = groupHeads(c, qh, groups);
    kh = groupHeads(c, kh, 1);
    vh = groupHeads(c, vh, 1);
  }
  // Scaled dot-product attention: softmax(Q K^T / sqrt(d_k) + mask) V.
  Value scores = MatmulOp::create(c.b, c.loc, qh, kh, /*transpose_lhs=*/false,
                                  /*transpose_rhs=*/true);
  if (groups > 1)
    scores = ungroupHeads(c, scores);
  if (spec.attention.scaled)
    scores = ScaleOp::create(c.b, c.loc, scores,
                             c.b.getF64FloatAttr(1.0 / std::sqrt(dh)));
  auto st = cast<RankedTensorType>(scores.getType());
  if (in.causal) {
    auto mt = c.f32({st.getDimSize(2), st.getDimSize(3)});
    SmallVector<Value> sizes;
    if (mt.isDynamicDim(0))
      sizes.push_back(c.dimOf(q, 1));
    if (mt.isDynamicDim(1))
      sizes.push_back(c.dimOf(k, 1));
    int64_t window = c.spec.attention.slidingWindow;
    Value cm = CausalMaskOp::create(
        c.b, c.loc, mt, past, sizes, c.b.getF64FloatAttr(-1.0e9),
        window > 0 ? c.b.getI64IntegerAttr(window) : IntegerAttr());
    scores = AddOp::create(c.b, c.loc, scores, cm);
  }
  if (in.padMask)
    scores = AddOp::create(c.b, c.loc, scores, in.padMask);
  Value probs = SoftmaxOp::create(c.b, c.loc, scores, 3);
  // The debug entries return the probabilities; with that second use,
  // tfm-fuse-attention leaves this attention unfused (O(seq^2) memory).
  if (in.probs)
    in.probs->push_back(probs);
  Value ctxv = MatmulOp::create(
      c.b, c.loc, groups > 1 ? groupHeads(c, probs, groups) : probs, vh, false,
      false);
  if (groups > 1)
    ctxv = ungroupHeads(c, ctxv);
  Value merged = mergeHeads(c, ctxv);
  Param ow = in.cross ? Param::CrossOutWeight : Param::SelfOutWeight;
  Param ob = in.cross ? Param::CrossOutBias : Param::SelfOutBias;
  return c.project(merged, ow, ob, spec.attention.outBias, s, layer, d, dq);
}

//===----------------------------------------------------------------------===//
// Feed-forward
//===----------------------------------------------------------------------===//

static ActivationKind activationKind(Activation a) {
  switch (a) {
  case Activation::ReLU:
    return ActivationKind::relu;
  case Activation::GELU:
    return ActivationKind::gelu;
  case Activation::GELUTanh:
    return ActivationKind::gelu_tanh;
  case Activation::SiLU:
    return ActivationKind::silu;
  }
  llvm_unreachable("unknown activation");
}

/// Router logits, top-k routing weights, and the selected experts' gated
/// FFNs summed with them (tfm.moe_gate + tfm.moe).
static Value mixtureOfExperts(Context &c, Value x, Stack s, int64_t layer) {
  const MoEConfig &m = c.spec.moe;
  c.at(s, layer, "moe");
  int64_t d = c.spec.dModel, f = c.spec.ffn.dFF;
  Value logits = c.project(x, Param::RouterWeight, Param::RouterWeight, false,
                           s, layer, m.experts, d);
  Value gate = MoEGateOp::create(
      c.b, c.loc, logits.getType(), logits, c.b.getI64IntegerAttr(m.topK),
      RoutingAttr::get(c.b.getContext(), m.topkSoftmax
                                             ? Routing::topk_softmax
                                             : Routing::softmax_topk));
  Value gateUp =
      c.expertStack("gate_up", {Param::ExpertGateWeight, Param::ExpertUpWeight},
                    s, layer, m.experts, {f, d});
  Value down = c.expertStack("down", {Param::ExpertDownWeight}, s, layer,
                             m.experts, {d, f});
  return MoEOp::create(
      c.b, c.loc, x.getType(), x, gate, gateUp, down,
      c.b.getI64IntegerAttr(m.topK),
      ActivationKindAttr::get(c.b.getContext(),
                              activationKind(c.spec.ffn.activation)));
}

Value blocks::feedForward(Context &c, Value x, Stack s, int64_t layer) {
  const FeedForwardConfig &f = c.spec.ffn;
  if (c.spec.moe.enabled())
    return mixtureOfExperts(c, x, s, layer);
  c.at(s, layer, "ffn");
  int64_t d = c.spec.dModel;
  Value h;
  if (f.gated) {
    // act(gate x) * (fc1 x), as in GLU variants (SwiGLU, GeGLU).
    Value gate = c.project(x, Param::FFNGateWeight, Param::FFNGateBias, f.bias,
                           s, layer, f.dFF, d);
    Value up = c.project(x, Param::FFNInWeight, Param::FFNInBias, f.bias, s,
                         layer, f.dFF, d);
    h = MulOp::create(c.b, c.loc, activation(c, gate), up);
  } else {
    h = c.project(x, Param::FFNInWeight, Param::FFNInBias, f.bias, s, layer,
                  f.dFF, d);
    h = activation(c, h);
  }
  return c.project(h, Param::FFNOutWeight, Param::FFNOutBias, f.bias, s, layer,
                   d, f.dFF);
}

//===----------------------------------------------------------------------===//
// Embeddings, positions, masks, head
//===----------------------------------------------------------------------===//

Value blocks::positions(Context &c, Value ids, Stack s, Value past) {
  const ModelSpec &spec = c.spec;
  int64_t d = spec.dModel;
  int64_t seq = cast<RankedTensorType>(ids.getType()).getDimSize(1);
  SmallVector<Value> sizes;
  if (ShapedType::isDynamic(seq))
    sizes.push_back(c.dimOf(ids, 1));
  switch (spec.positions.kind) {
  case PositionKind::Sinusoidal:
    return PositionalEncodingOp::create(
        c.b, c.loc, c.f32({seq, d}), past, sizes,
        c.b.getF64FloatAttr(spec.positions.base));
  case PositionKind::Learned: {
    Value table = c.weight(Param::PositionEmbedding, s, -1, {spec.maxSeqLen, d},
                           Init::Normal);
    if (!past && !ShapedType::isDynamic(seq))
      return SliceOp::create(c.b, c.loc, table, 0, 0, seq);
    // Position ids past, past + 1, ... looked up in the table.
    Value pos = RangeOp::create(c.b, c.loc, c.i64({seq}), past, sizes);
    return EmbeddingOp::create(c.b, c.loc, table, pos);
  }
  case PositionKind::None:
  case PositionKind::Rotary:   // (applied to queries and keys in attention)
  case PositionKind::Relative: // (added to the scores: relativeBias)
    return Value();
  }
  llvm_unreachable("unknown position kind");
}

Value blocks::embeddings(Context &c, Value ids, Value tokenTypes, Stack s,
                         Value past) {
  const ModelSpec &spec = c.spec;
  const EmbeddingConfig &e = spec.embedding;
  c.at(s, -1, "embeddings");
  int64_t d = spec.dModel;
  Value table =
      c.weight(Param::TokenEmbedding, s, -1, {e.vocabSize, d}, Init::Normal);
  Value x = EmbeddingOp::create(c.b, c.loc, table, ids);
  if (e.scale)
    x = ScaleOp::create(c.b, c.loc, x,
                        c.b.getF64FloatAttr(std::sqrt(double(d))));
  if (tokenTypes) {
    Value types = c.weight(Param::TokenTypeEmbedding, s, -1,
                           {e.typeVocabSize, d}, Init::Normal);
    x = AddOp::create(c.b, c.loc, x,
                      EmbeddingOp::create(c.b, c.loc, types, tokenTypes));
  }
  if (Value pe = positions(c, ids, s, past))
    x = AddOp::create(c.b, c.loc, x, pe);
  if (e.norm)
    x = norm(c, x, Param::EmbeddingNormWeight, Param::EmbeddingNormBias, s, -1);
  return x;
}

Value blocks::patchEmbeddings(Context &c, Value pixels) {
  const ModelSpec &spec = c.spec;
  const VisionConfig &v = spec.vision;
  c.at(Stack::Encoder, -1, "embeddings");
  int64_t b = cast<RankedTensorType>(pixels.getType()).getDimSize(0);
  int64_t d = spec.dModel, ch = v.channels, p = v.patchSize;
  int64_t g = v.imageSize / p, n = g * g, k = ch * p * p;
  // [B, C, g, P, g, P] -> [B, g, g, C, P, P] -> [B, g*g, C*P*P]: each
  // patch's features in the kernel's (C, P, P) order.
  Value x = ReshapeOp::create(c.b, c.loc, c.f32({b, ch, g, p, g, p}), pixels);
  x = TransposeOp::create(c.b, c.loc, x,
                          ArrayRef<int64_t>{0, 2, 4, 1, 3, 5});
  x = ReshapeOp::create(c.b, c.loc, c.f32({b, n, k}), x);
  Value w =
      c.weight(Param::PatchWeight, Stack::Encoder, -1, {d, k}, Init::Normal,
               {d, ch, p, p});
  Value bias =
      c.weight(Param::PatchBias, Stack::Encoder, -1, {d}, Init::Zeros);
  x = LinearOp::create(c.b, c.loc, x, w, bias, /*weightKN=*/false);
  Value cls =
      c.weight(Param::ClassToken, Stack::Encoder, -1, {1, 1, d}, Init::Normal);
  if (b > 1)
    cls = ConcatOp::create(c.b, c.loc, SmallVector<Value>(b, cls), 0);
  x = ConcatOp::create(c.b, c.loc, ValueRange{cls, x}, 1);
  Value pos = c.weight(Param::PositionEmbedding, Stack::Encoder, -1,
                       {1, n + 1, d}, Init::Normal);
  return AddOp::create(c.b, c.loc, x, pos);
}

Value blocks::classToken(Context &c, Value x) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  Value first = SliceOp::create(c.b, c.loc, x, 1, 0, 1);
  return ReshapeOp::create(c.b, c.loc, c.f32({s[0], s[2]}), first);
}

Value blocks::pooler(Context &c, Value cls) {
  c.at(Stack::Encoder, -1, "pooler");
  int64_t d = c.spec.dModel;
  Value y = c.project(cls, Param::PoolerWeight, Param::PoolerBias, true,
                      Stack::Encoder, -1, d, d);
  return TanhOp::create(c.b, c.loc, y);
}

Value blocks::classifier(Context &c, Value cls) {
  c.at(Stack::Encoder, -1, "classifier");
  return c.project(cls, Param::ClassifierWeight, Param::ClassifierBias, true,
                   Stack::Encoder, -1, c.spec.vision.numLabels,
                   c.spec.dModel);
}

Value blocks::relativeBias(Context &c, Value x, Stack s, Value past,
                           int64_t keys, Value padMask) {
  const ModelSpec &spec = c.spec;
  c.at(s, 0, "self_attn");
  int64_t heads = spec.attention.numHeads;
  int64_t buckets = spec.positions.relativeBuckets;
  Value table =
      c.weight(Param::RelativeBiasTable, s, -1, {buckets, heads}, Init::Normal);
  int64_t q = cast<RankedTensorType>(x.getType()).getDimSize(1);
  SmallVector<Value> sizes;
  if (ShapedType::isDynamic(q))
    sizes.push_back(c.dimOf(x, 1));
  if (ShapedType::isDynamic(keys))
    sizes.push_back(c.dimOf(x, 1)); // self-attention without a cache
  Value bias = RelativePositionBiasOp::create(
      c.b, c.loc, c.f32({1, heads, q, keys}), table, past, sizes,
      c.b.getI64IntegerAttr(spec.positions.relativeMaxDistance),
      s == Stack::Encoder ? c.b.getUnitAttr() : UnitAttr());
  return padMask ? AddOp::create(c.b, c.loc, bias, padMask) : bias;
}

Value blocks::paddingMask(Context &c, Value attentionMask) {
  if (!attentionMask)
    return Value();
  c.at(Stack::Encoder, -1, "attention_mask");
  ArrayRef<int64_t> m =
      cast<RankedTensorType>(attentionMask.getType()).getShape();
  return PaddingMaskOp::create(c.b, c.loc, c.f32({m[0], 1, 1, m[1]}),
                               attentionMask, c.b.getF64FloatAttr(-1.0e9));
}

Value blocks::lmHead(Context &c, Value x) {
  c.at(Stack::Decoder, -1, "lm_head");
  Param p = c.spec.head.tied ? Param::TokenEmbedding : Param::LMHeadWeight;
  int64_t v = c.spec.embedding.vocabSize;
  Value w = c.weight(p, Stack::Decoder, -1, {v, c.spec.dModel}, Init::Normal);
  if (c.spec.head.scale != 1.0)
    x = ScaleOp::create(c.b, c.loc, x, c.b.getF64FloatAttr(c.spec.head.scale));
  Value bias = c.spec.head.bias ? c.weight(Param::LMHeadBias, Stack::Decoder,
                                           -1, {v}, Init::Zeros)
                                : Value();
  return LinearOp::create(c.b, c.loc, x, w, bias, /*weightKN=*/false);
}
