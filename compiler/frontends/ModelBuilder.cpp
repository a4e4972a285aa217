//===- ModelBuilder.cpp - ModelSpec to primitive tfm IR -------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/ModelBuilder.h"
#include "tfm/IR/TfmOps.h"
#include "tfmc/abi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;

namespace {
using Init = WeightStore::Init;

class ModelIRBuilder {
public:
  ModelIRBuilder(MLIRContext *ctx, const ModelSpec &spec, WeightStore &weights)
      : spec(spec), weights(weights), b(ctx), loc(spec.modelLoc) {}

  FailureOr<OwningOpRef<ModuleOp>> build();

private:
  // Types.
  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  RankedTensorType i64(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getI64Type());
  }
  Location stackLoc(Stack s) const {
    return s == Stack::Encoder ? spec.encoderLoc : spec.decoderLoc;
  }
  /// Sets the location of the ops emitted next to a named scope.
  void at(Stack s, int64_t layer, StringRef part) {
    loc = NameLoc::get(b.getStringAttr(spec.naming->scope(s, layer, part)),
                       stackLoc(s));
  }

  /// A named parameter, checked against the weight store.
  Value weight(Param p, Stack s, int64_t layer, ArrayRef<int64_t> shape,
               Init init);
  /// x W^T + b for a layer projection [out, in] (or [in, out] as stored).
  Value project(Value x, Param w, Param bias, bool hasBias, Stack s,
                int64_t layer, int64_t out, int64_t in);
  Value norm(Value x, Param w, Param bias, Stack s, int64_t layer);
  Value activation(Value x);
  Value splitHeads(Value x);
  Value mergeHeads(Value x);
  /// Multi-head attention of `xq` over `xkv`, op by op.
  Value attention(Value xq, Value xkv, Value padMask, bool causal, bool cross,
                  Stack s, int64_t layer);
  Value feedForward(Value x, Stack s, int64_t layer);
  /// Token (+ token type) (+ position) embeddings, scaled and normalised as
  /// the family does it; positions start after `past` cached tokens.
  Value embed(Value ids, Value tokenTypes, Stack s, Value past);
  Value layerStack(Value x, Value selfMask, Value memory, Value memoryMask,
                   Stack s, int64_t layers, bool causal);
  Value lmHead(Value x);
  /// The additive [batch, 1, 1, keys] mask of an attention_mask (or null).
  Value padMaskFrom(Value attentionMask);

  /// One argument or result of an entry: name, type, and the names of its
  /// dynamic dimensions ("" for static ones).
  struct IO {
    std::string name;
    Type type;
    SmallVector<std::string> dims = {};
    int64_t tiedTo = -1; ///< results: the state argument it updates
  };
  func::FuncOp beginFunc(StringRef name, ArrayRef<IO> args,
                         ArrayRef<IO> results);
  /// Size of dimension `d` of `v` as an index (a constant when static).
  Value dimOf(Value v, int64_t d);
  /// A sequence length as a shape dimension (dynamic: kDynamic).
  static int64_t shapeDim(int64_t len) {
    return len == ModelSpec::kDynamicLength ? ShapedType::kDynamic : len;
  }
  /// The entries that generate: prefill/decode (decoder), decode_step
  /// (encoder-decoder).
  void buildGenerationEntry(StringRef name, int64_t seq);

  /// The KV cache of the entry being built (null outside generation):
  /// self-attention keys and values per layer, written at `past`.
  struct KVCache {
    Value past;
    SmallVector<Value> keys, values;       // state arguments
    SmallVector<Value> newKeys, newValues; // their updated values
  };
  KVCache *cache = nullptr;
  /// Attention probabilities of the entry being built, when it returns them
  /// (the debug entries): self- and cross-attention, layer by layer.
  SmallVector<Value> *selfProbs = nullptr, *crossProbs = nullptr;

  /// forward (decoder, encoder); with `probs`, forward_attention, which
  /// also returns every layer's attention probabilities.
  void buildForward(bool probs);
  /// decode (encoder-decoder, teacher forcing); with `probs`,
  /// decode_attention.
  void buildDecode(bool probs);
  static void addProbResults(SmallVectorImpl<IO> &results, StringRef prefix,
                             int64_t layers, Type type,
                             ArrayRef<std::string> dims);

  const ModelSpec &spec;
  WeightStore &weights;
  OpBuilder b;
  Location loc;
  ModuleOp module;
  bool failedWeights = false;
  /// Weight values of the function being built, by stored name.
  llvm::StringMap<Value> weightValues;
};
} // namespace

Value ModelIRBuilder::weight(Param p, Stack s, int64_t layer,
                             ArrayRef<int64_t> shape, Init init) {
  std::string name = spec.naming->name(p, s, layer);
  // A parameter used twice in a function (tied embeddings) is one value.
  if (Value cached = weightValues.lookup(name))
    return cached;
  if (!failedWeights) {
    if (llvm::Error e = weights.require(name, shape, init)) {
      emitError(loc) << llvm::toString(std::move(e));
      failedWeights = true;
    }
  }
  Value v = WeightOp::create(
      b, NameLoc::get(b.getStringAttr(name), stackLoc(s)), name, f32(shape));
  weightValues[name] = v;
  return v;
}

Value ModelIRBuilder::project(Value x, Param w, Param bias, bool hasBias,
                              Stack s, int64_t layer, int64_t out, int64_t in) {
  bool kn = spec.naming->weightsInOut();
  SmallVector<int64_t> wShape =
      kn ? SmallVector<int64_t>{in, out} : SmallVector<int64_t>{out, in};
  Value wv = weight(w, s, layer, wShape, Init::Normal);
  Value bv = hasBias ? weight(bias, s, layer, {out}, Init::Zeros) : Value();
  return LinearOp::create(b, loc, x, wv, bv, kn);
}

Value ModelIRBuilder::norm(Value x, Param w, Param bias, Stack s,
                           int64_t layer) {
  int64_t axis = cast<RankedTensorType>(x.getType()).getRank() - 1;
  Value g = weight(w, s, layer, {spec.dModel}, Init::Ones);
  // Epsilon is added in the element type; store the value the kernels use
  // (so IR from --decompose, whose epsilon is an f32 constant, recomposes to
  // exactly the same op).
  FloatAttr eps = b.getF64FloatAttr(static_cast<float>(spec.normEps));
  IntegerAttr ax = b.getI64IntegerAttr(axis);
  if (spec.norm == NormKind::RMSNorm)
    return RMSNormOp::create(b, loc, x.getType(), x, g, ax, eps);
  Value bv = weight(bias, s, layer, {spec.dModel}, Init::Zeros);
  return LayerNormOp::create(b, loc, x.getType(), x, g, bv, ax, eps);
}

Value ModelIRBuilder::activation(Value x) {
  switch (spec.activation) {
  case Activation::ReLU:
    return ReluOp::create(b, loc, x);
  case Activation::GELU:
    return GeluOp::create(b, loc, x, GeluApproximation::erf);
  case Activation::GELUTanh:
    return GeluOp::create(b, loc, x, GeluApproximation::tanh);
  case Activation::SiLU:
    return SiluOp::create(b, loc, x);
  }
  llvm_unreachable("unknown activation");
}

/// [B, S, H*Dh] -> [B, H, S, Dh]
Value ModelIRBuilder::splitHeads(Value x) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  Value r = ReshapeOp::create(
      b, loc, f32({s[0], s[1], spec.numHeads, spec.headDim()}), x);
  return TransposeOp::create(b, loc, r, ArrayRef<int64_t>{0, 2, 1, 3});
}

/// [B, H, S, Dh] -> [B, S, H*Dh]
Value ModelIRBuilder::mergeHeads(Value x) {
  ArrayRef<int64_t> s = cast<RankedTensorType>(x.getType()).getShape();
  Value t = TransposeOp::create(b, loc, x, ArrayRef<int64_t>{0, 2, 1, 3});
  return ReshapeOp::create(b, loc, f32({s[0], s[2], spec.dModel}), t);
}

Value ModelIRBuilder::attention(Value xq, Value xkv, Value padMask, bool causal,
                                bool cross, Stack s, int64_t layer) {
  at(s, layer, cross ? "cross_attn" : "self_attn");
  int64_t d = spec.dModel;
  bool bias = spec.attentionBias;
  Value q, k, v;
  if (!cross && spec.naming->fusedQKV()) {
    Value qkv = project(xq, Param::SelfQKVWeight, Param::SelfQKVBias, bias, s,
                        layer, 3 * d, d);
    q = SliceOp::create(b, loc, qkv, 2, 0, d);
    k = SliceOp::create(b, loc, qkv, 2, d, 2 * d);
    v = SliceOp::create(b, loc, qkv, 2, 2 * d, 3 * d);
  } else if (!cross) {
    q = project(xq, Param::SelfQWeight, Param::SelfQBias, bias, s, layer, d, d);
    k = project(xkv, Param::SelfKWeight, Param::SelfKBias, bias, s, layer, d,
                d);
    v = project(xkv, Param::SelfVWeight, Param::SelfVBias, bias, s, layer, d,
                d);
  } else {
    q = project(xq, Param::CrossQWeight, Param::CrossQBias, bias, s, layer, d,
                d);
    k = project(xkv, Param::CrossKWeight, Param::CrossKBias, bias, s, layer, d,
                d);
    v = project(xkv, Param::CrossVWeight, Param::CrossVBias, bias, s, layer, d,
                d);
  }
  Value past;
  if (cache && !cross) {
    // Generation: this step's keys and values go into the cache at `past`;
    // attention reads the whole cache, the causal mask hides the rows not
    // written yet.
    past = cache->past;
    k = CacheWriteOp::create(b, loc, cache->keys[layer], k, past, 1);
    v = CacheWriteOp::create(b, loc, cache->values[layer], v, past, 1);
    cache->newKeys[layer] = k;
    cache->newValues[layer] = v;
  }
  Value qh = splitHeads(q), kh = splitHeads(k), vh = splitHeads(v);
  // Scaled dot-product attention: softmax(Q K^T / sqrt(d_k) + mask) V.
  Value scores = MatmulOp::create(b, loc, qh, kh, /*transpose_lhs=*/false,
                                  /*transpose_rhs=*/true);
  scores = ScaleOp::create(b, loc, scores,
                           b.getF64FloatAttr(1.0 / std::sqrt(spec.headDim())));
  auto st = cast<RankedTensorType>(scores.getType());
  if (causal) {
    auto mt = f32({st.getDimSize(2), st.getDimSize(3)});
    SmallVector<Value> sizes;
    if (mt.isDynamicDim(0))
      sizes.push_back(dimOf(q, 1));
    if (mt.isDynamicDim(1))
      sizes.push_back(dimOf(k, 1));
    Value cm = CausalMaskOp::create(b, loc, mt, past, sizes,
                                    b.getF64FloatAttr(-1.0e9));
    scores = AddOp::create(b, loc, scores, cm);
  }
  if (padMask)
    scores = AddOp::create(b, loc, scores, padMask);
  Value probs = SoftmaxOp::create(b, loc, scores, 3);
  // The debug entries return the probabilities; with that second use,
  // tfm-fuse-attention leaves this attention unfused (O(seq^2) memory).
  if (SmallVector<Value> *out = cross ? crossProbs : selfProbs)
    out->push_back(probs);
  Value ctxv = MatmulOp::create(b, loc, probs, vh, false, false);
  Value merged = mergeHeads(ctxv);
  Param ow = cross ? Param::CrossOutWeight : Param::SelfOutWeight;
  Param ob = cross ? Param::CrossOutBias : Param::SelfOutBias;
  return project(merged, ow, ob, bias, s, layer, d, d);
}

Value ModelIRBuilder::feedForward(Value x, Stack s, int64_t layer) {
  at(s, layer, "ffn");
  Value h = project(x, Param::FFNInWeight, Param::FFNInBias, spec.ffnBias, s,
                    layer, spec.dFF, spec.dModel);
  h = activation(h);
  return project(h, Param::FFNOutWeight, Param::FFNOutBias, spec.ffnBias, s,
                 layer, spec.dModel, spec.dFF);
}

Value ModelIRBuilder::embed(Value ids, Value tokenTypes, Stack s, Value past) {
  at(s, -1, "embeddings");
  int64_t d = spec.dModel;
  int64_t seq = cast<RankedTensorType>(ids.getType()).getDimSize(1);
  Value table =
      weight(Param::TokenEmbedding, s, -1, {spec.vocabSize, d}, Init::Normal);
  Value x = EmbeddingOp::create(b, loc, table, ids);
  if (spec.embeddingScale)
    x = ScaleOp::create(b, loc, x, b.getF64FloatAttr(std::sqrt(double(d))));
  if (tokenTypes) {
    Value types = weight(Param::TokenTypeEmbedding, s, -1,
                         {spec.typeVocabSize, d}, Init::Normal);
    x = AddOp::create(b, loc, x,
                      EmbeddingOp::create(b, loc, types, tokenTypes));
  }
  SmallVector<Value> sizes;
  if (ShapedType::isDynamic(seq))
    sizes.push_back(dimOf(ids, 1));
  switch (spec.positions) {
  case PositionKind::Sinusoidal: {
    Value pe = PositionalEncodingOp::create(b, loc, f32({seq, d}), past, sizes,
                                            b.getF64FloatAttr(10000.0));
    x = AddOp::create(b, loc, x, pe);
    break;
  }
  case PositionKind::Learned: {
    Value table = weight(Param::PositionEmbedding, s, -1, {spec.maxSeqLen, d},
                         Init::Normal);
    Value pe;
    if (!past && !ShapedType::isDynamic(seq)) {
      pe = SliceOp::create(b, loc, table, 0, 0, seq);
    } else {
      // Position ids past, past + 1, ... looked up in the table.
      Value ids = RangeOp::create(b, loc, i64({seq}), past, sizes);
      pe = EmbeddingOp::create(b, loc, table, ids);
    }
    x = AddOp::create(b, loc, x, pe);
    break;
  }
  case PositionKind::None:
    break;
  }
  if (spec.embeddingNorm)
    x = norm(x, Param::EmbeddingNormWeight, Param::EmbeddingNormBias, s, -1);
  return x;
}

Value ModelIRBuilder::layerStack(Value x, Value selfMask, Value memory,
                                 Value memoryMask, Stack s, int64_t layers,
                                 bool causal) {
  bool pre = spec.placement == NormPlacement::Pre;
  for (int64_t l = 0; l < layers; ++l) {
    // One residual sublayer: post-LN is norm(x + f(x)) as in the paper,
    // pre-LN is x + f(norm(x)) as in GPT-2.
    auto sublayer = [&](StringRef part, Param normW, Param normB,
                        llvm::function_ref<Value(Value)> body) {
      at(s, l, part);
      Value h = pre ? norm(x, normW, normB, s, l) : x;
      Value y = body(h);
      at(s, l, part);
      x = AddOp::create(b, loc, x, y);
      if (!pre)
        x = norm(x, normW, normB, s, l);
    };
    sublayer("self_attn", Param::SelfNormWeight, Param::SelfNormBias,
             [&](Value h) {
               return attention(h, h, selfMask, causal, /*cross=*/false, s, l);
             });
    if (memory)
      sublayer("cross_attn", Param::CrossNormWeight, Param::CrossNormBias,
               [&](Value h) {
                 return attention(h, memory, memoryMask, /*causal=*/false,
                                  /*cross=*/true, s, l);
               });
    sublayer("ffn", Param::FFNNormWeight, Param::FFNNormBias,
             [&](Value h) { return feedForward(h, s, l); });
  }
  if (spec.finalNorm) {
    at(s, -1, "final_norm");
    x = norm(x, Param::FinalNormWeight, Param::FinalNormBias, s, -1);
  }
  return x;
}

Value ModelIRBuilder::lmHead(Value x) {
  at(Stack::Decoder, -1, "lm_head");
  Param p = spec.tieEmbeddings ? Param::TokenEmbedding : Param::LMHeadWeight;
  Value w = weight(p, Stack::Decoder, -1, {spec.vocabSize, spec.dModel},
                   Init::Normal);
  return LinearOp::create(b, loc, x, w, Value(), /*weightKN=*/false);
}

func::FuncOp ModelIRBuilder::beginFunc(StringRef name, ArrayRef<IO> args,
                                       ArrayRef<IO> results) {
  SmallVector<Type> argTypes, resultTypes;
  for (const IO &a : args)
    argTypes.push_back(a.type);
  for (const IO &r : results)
    resultTypes.push_back(r.type);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, spec.modelLoc, name,
                                 b.getFunctionType(argTypes, resultTypes));
  bool dynamic = false;
  auto attrs = [&](const IO &io) {
    SmallVector<NamedAttribute> out = {
        b.getNamedAttr(attr::kName, b.getStringAttr(io.name))};
    if (llvm::any_of(io.dims,
                     [](const std::string &d) { return !d.empty(); })) {
      dynamic = true;
      SmallVector<StringRef> dims(io.dims.begin(), io.dims.end());
      out.push_back(b.getNamedAttr(attr::kDimNames, b.getStrArrayAttr(dims)));
    }
    if (io.tiedTo >= 0)
      out.push_back(
          b.getNamedAttr(attr::kTiedTo, b.getI64IntegerAttr(io.tiedTo)));
    return b.getDictionaryAttr(out);
  };
  for (auto [i, a] : llvm::enumerate(args))
    fn.setArgAttrs(i, attrs(a));
  for (auto [i, r] : llvm::enumerate(results))
    fn.setResultAttrs(i, attrs(r));
  // Every named dimension is a sequence length, bounded by the model's.
  if (dynamic) {
    llvm::StringMap<bool> names;
    for (const IO &io : llvm::concat<const IO>(args, results))
      for (const std::string &d : io.dims)
        if (!d.empty())
          names[d] = true;
    SmallVector<NamedAttribute> bounds;
    for (auto &n : names)
      bounds.push_back(
          b.getNamedAttr(n.getKey(), b.getI64IntegerAttr(spec.maxSeqLen)));
    fn->setAttr(attr::kDimBounds, b.getDictionaryAttr(bounds));
  }
  b.setInsertionPointToStart(fn.addEntryBlock());
  weightValues.clear();
  return fn;
}

Value ModelIRBuilder::dimOf(Value v, int64_t d) {
  auto t = cast<RankedTensorType>(v.getType());
  if (!t.isDynamicDim(d))
    return arith::ConstantIndexOp::create(b, loc, t.getDimSize(d));
  return tensor::DimOp::create(b, loc, v, d);
}

/// The dimension names of a [batch, seq, ...] tensor: the sequence is named
/// when its length is chosen at run time.
static SmallVector<std::string> seqDims(int64_t len, StringRef name,
                                        int64_t rank) {
  SmallVector<std::string> dims(rank);
  if (ShapedType::isDynamic(len))
    dims[1] = name.str();
  return dims;
}

Value ModelIRBuilder::padMaskFrom(Value attentionMask) {
  if (!attentionMask)
    return Value();
  at(Stack::Encoder, -1, TFMC_IO_ATTENTION_MASK);
  ArrayRef<int64_t> m =
      cast<RankedTensorType>(attentionMask.getType()).getShape();
  return PaddingMaskOp::create(b, loc, f32({m[0], 1, 1, m[1]}), attentionMask,
                               b.getF64FloatAttr(-1.0e9));
}

void ModelIRBuilder::buildGenerationEntry(StringRef name, int64_t seq) {
  bool encdec = spec.family == Family::EncoderDecoder;
  int64_t len = shapeDim(seq), d = spec.dModel, layers = spec.decoderLayers;
  SmallVector<IO> args = {
      {encdec ? TFMC_IO_DECODER_INPUT_IDS : TFMC_IO_INPUT_IDS, i64({1, len}),
       seqDims(len, TFMC_DIM_SEQ, 2)},
      {TFMC_IO_PAST_LENGTH, b.getIndexType()}};
  if (encdec) {
    args.push_back({TFMC_IO_ENCODER_HIDDEN_STATES,
                    f32({1, ShapedType::kDynamic, d}),
                    {"", TFMC_DIM_SRC_SEQ, ""}});
    if (spec.paddingMask)
      args.push_back({TFMC_IO_ATTENTION_MASK,
                      i64({1, ShapedType::kDynamic}),
                      {"", TFMC_DIM_SRC_SEQ}});
  }
  SmallVector<IO> results = {{TFMC_IO_LOGITS, f32({1, 1, spec.vocabSize})}};
  int64_t firstState = args.size();
  for (int64_t l = 0; l < layers; ++l)
    for (StringRef kind : {"key", "value"}) {
      std::string state =
          (TFMC_IO_KV_PREFIX + llvm::Twine(l) + "." + kind).str();
      Type type = f32({1, spec.maxSeqLen, d});
      results.push_back({state, type, {}, static_cast<int64_t>(args.size())});
      args.push_back({state, type});
    }
  func::FuncOp fn = beginFunc(name, args, results);
  Block &body = fn.getBody().front();

  KVCache kv;
  kv.past = body.getArgument(1);
  for (int64_t l = 0; l < layers; ++l) {
    kv.keys.push_back(body.getArgument(firstState + 2 * l));
    kv.values.push_back(body.getArgument(firstState + 2 * l + 1));
  }
  kv.newKeys.resize(layers);
  kv.newValues.resize(layers);
  cache = &kv;
  Value x = embed(body.getArgument(0), Value(), Stack::Decoder, kv.past);
  Value memory, memoryMask;
  if (encdec) {
    memory = body.getArgument(2);
    memoryMask = padMaskFrom(spec.paddingMask ? body.getArgument(3) : Value());
  }
  x = layerStack(x, Value(), memory, memoryMask, Stack::Decoder, layers,
                 /*causal=*/true);
  // Only the last position predicts the next token.
  if (ShapedType::isDynamic(len)) {
    at(Stack::Decoder, -1, "lm_head");
    Value last = arith::SubIOp::create(
        b, loc, dimOf(x, 1), arith::ConstantIndexOp::create(b, loc, 1));
    x = SliceOp::create(b, loc, x, 1, 0, 1, last);
  }
  SmallVector<Value> returned = {lmHead(x)};
  for (int64_t l = 0; l < layers; ++l)
    returned.append({kv.newKeys[l], kv.newValues[l]});
  cache = nullptr;
  func::ReturnOp::create(b, spec.modelLoc, returned);
}

/// The probability results of a debug entry: [batch, heads, queries, keys]
/// per layer, named `prefix`.{layer}.
void ModelIRBuilder::addProbResults(SmallVectorImpl<IO> &results,
                                    StringRef prefix, int64_t layers, Type type,
                                    ArrayRef<std::string> dims) {
  for (int64_t l = 0; l < layers; ++l)
    results.push_back({(prefix + "." + Twine(l)).str(), type,
                       SmallVector<std::string>(dims)});
}

void ModelIRBuilder::buildForward(bool probs) {
  int64_t bsz = spec.batch, d = spec.dModel;
  bool enc = spec.family == Family::Encoder;
  Stack s = enc ? Stack::Encoder : Stack::Decoder;
  int64_t layers = enc ? spec.encoderLayers : spec.decoderLayers;
  int64_t seq = shapeDim(spec.seqLen);
  SmallVector<IO> args = {
      {TFMC_IO_INPUT_IDS, i64({bsz, seq}), seqDims(seq, TFMC_DIM_SEQ, 2)}};
  if (spec.paddingMask)
    args.push_back({TFMC_IO_ATTENTION_MASK, i64({bsz, seq}),
                    seqDims(seq, TFMC_DIM_SEQ, 2)});
  if (spec.typeVocabSize > 0)
    args.push_back({TFMC_IO_TOKEN_TYPE_IDS, i64({bsz, seq}),
                    seqDims(seq, TFMC_DIM_SEQ, 2)});
  SmallVector<IO> results = {
      enc ? IO{TFMC_IO_LAST_HIDDEN_STATE, f32({bsz, seq, d}),
               seqDims(seq, TFMC_DIM_SEQ, 3)}
          : IO{TFMC_IO_LOGITS, f32({bsz, seq, spec.vocabSize}),
               seqDims(seq, TFMC_DIM_SEQ, 3)}};
  SmallVector<std::string> pdims = {"", "", "", ""};
  if (ShapedType::isDynamic(seq))
    pdims[2] = pdims[3] = TFMC_DIM_SEQ;
  if (probs)
    addProbResults(results, TFMC_IO_ATTENTION_PREFIX, layers,
                   f32({bsz, spec.numHeads, seq, seq}), pdims);
  func::FuncOp fn = beginFunc(
      probs ? TFMC_ENTRY_FORWARD_ATTENTION : TFMC_ENTRY_FORWARD, args, results);
  Block &body = fn.getBody().front();
  unsigned next = 1;
  Value attentionMask = spec.paddingMask ? body.getArgument(next++) : Value();
  Value types = spec.typeVocabSize > 0 ? body.getArgument(next++) : Value();
  SmallVector<Value> collected;
  selfProbs = probs ? &collected : nullptr;
  Value x = embed(body.getArgument(0), types, s, Value());
  x = layerStack(x, padMaskFrom(attentionMask), Value(), Value(), s, layers,
                 /*causal=*/!enc);
  if (!enc)
    x = lmHead(x);
  selfProbs = nullptr;
  collected.insert(collected.begin(), x);
  func::ReturnOp::create(b, spec.modelLoc, collected);
}

void ModelIRBuilder::buildDecode(bool probs) {
  int64_t bsz = spec.batch, d = spec.dModel;
  int64_t src = shapeDim(spec.seqLen), tgt = shapeDim(spec.targetSeqLen);
  // decode(decoder_input_ids, encoder_hidden_states[, attention_mask]):
  // the whole target sequence at once (teacher forcing).
  SmallVector<IO> args = {{TFMC_IO_DECODER_INPUT_IDS, i64({bsz, tgt}),
                           seqDims(tgt, TFMC_DIM_TGT_SEQ, 2)},
                          {TFMC_IO_ENCODER_HIDDEN_STATES, f32({bsz, src, d}),
                           seqDims(src, TFMC_DIM_SRC_SEQ, 3)}};
  if (spec.paddingMask)
    args.push_back({TFMC_IO_ATTENTION_MASK, i64({bsz, src}),
                    seqDims(src, TFMC_DIM_SRC_SEQ, 2)});
  SmallVector<IO> results = {{TFMC_IO_LOGITS, f32({bsz, tgt, spec.vocabSize}),
                              seqDims(tgt, TFMC_DIM_TGT_SEQ, 3)}};
  if (probs) {
    std::string t = ShapedType::isDynamic(tgt) ? TFMC_DIM_TGT_SEQ : "";
    std::string sr = ShapedType::isDynamic(src) ? TFMC_DIM_SRC_SEQ : "";
    addProbResults(results, TFMC_IO_SELF_ATTENTION_PREFIX, spec.decoderLayers,
                   f32({bsz, spec.numHeads, tgt, tgt}), {"", "", t, t});
    addProbResults(results, TFMC_IO_CROSS_ATTENTION_PREFIX, spec.decoderLayers,
                   f32({bsz, spec.numHeads, tgt, src}), {"", "", t, sr});
  }
  func::FuncOp fn = beginFunc(
      probs ? TFMC_ENTRY_DECODE_ATTENTION : TFMC_ENTRY_DECODE, args, results);
  Block &db = fn.getBody().front();
  SmallVector<Value> self, cross;
  if (probs) {
    selfProbs = &self;
    crossProbs = &cross;
  }
  Value y = embed(db.getArgument(0), Value(), Stack::Decoder, Value());
  Value memMask = padMaskFrom(spec.paddingMask ? db.getArgument(2) : Value());
  y = layerStack(y, Value(), db.getArgument(1), memMask, Stack::Decoder,
                 spec.decoderLayers, /*causal=*/true);
  y = lmHead(y);
  selfProbs = crossProbs = nullptr;
  SmallVector<Value> out = {y};
  out.append(self);
  out.append(cross);
  func::ReturnOp::create(b, spec.modelLoc, out);
}

FailureOr<OwningOpRef<ModuleOp>> ModelIRBuilder::build() {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(spec.modelLoc);
  module = *owned;
  int64_t bsz = spec.batch, d = spec.dModel;
  ModelFamily family = spec.family == Family::Encoder ? ModelFamily::encoder
                       : spec.family == Family::Decoder
                           ? ModelFamily::decoder
                           : ModelFamily::encoder_decoder;
  module->setAttr(attr::kModel,
                  ModelAttr::get(b.getContext(), family, spec.vocabSize,
                                 spec.maxSeqLen, spec.bosId, spec.eosId,
                                 spec.padId, TokenizerAttr()));

  if (spec.family != Family::EncoderDecoder) {
    buildForward(/*probs=*/false);
    if (spec.family == Family::Decoder) {
      // Generation: a prompt of any length, then one token at a time.
      buildGenerationEntry(TFMC_ENTRY_PREFILL, ModelSpec::kDynamicLength);
      buildGenerationEntry(TFMC_ENTRY_DECODE, 1);
    }
    if (spec.attentionEntries)
      buildForward(/*probs=*/true);
  } else {
    int64_t src = shapeDim(spec.seqLen);
    // encode(input_ids[, attention_mask]) -> encoder_hidden_states
    SmallVector<IO> encArgs = {{TFMC_IO_INPUT_IDS, i64({bsz, src}),
                                seqDims(src, TFMC_DIM_SRC_SEQ, 2)}};
    if (spec.paddingMask)
      encArgs.push_back({TFMC_IO_ATTENTION_MASK, i64({bsz, src}),
                         seqDims(src, TFMC_DIM_SRC_SEQ, 2)});
    func::FuncOp encFn =
        beginFunc(TFMC_ENTRY_ENCODE, encArgs,
                  {{TFMC_IO_ENCODER_HIDDEN_STATES, f32({bsz, src, d}),
                    seqDims(src, TFMC_DIM_SRC_SEQ, 3)}});
    Block &eb = encFn.getBody().front();
    Value x = embed(eb.getArgument(0), Value(), Stack::Encoder, Value());
    Value mask = padMaskFrom(spec.paddingMask ? eb.getArgument(1) : Value());
    x = layerStack(x, mask, Value(), Value(), Stack::Encoder,
                   spec.encoderLayers, /*causal=*/false);
    func::ReturnOp::create(b, spec.modelLoc, x);
    buildDecode(/*probs=*/false);
    // Generation: one target token at a time against the encoder output.
    buildGenerationEntry(TFMC_ENTRY_DECODE_STEP, 1);
    if (spec.attentionEntries)
      buildDecode(/*probs=*/true);
  }
  if (failedWeights)
    return failure();
  return std::move(owned);
}

FailureOr<OwningOpRef<ModuleOp>> mlir::tfm::buildModel(MLIRContext *ctx,
                                                       const ModelSpec &spec,
                                                       WeightStore &weights) {
  return ModelIRBuilder(ctx, spec, weights).build();
}
