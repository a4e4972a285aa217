//===- ModelBuilder.cpp - ModelSpec to primitive tfm IR -------------------===//
//
// Part of tfmc. Three concerns, three pieces: the blocks (Blocks.cpp) emit
// the math; `layerStack` composes them into residual sublayers and stacks;
// the entry builders below give the stacks their entry points (the ABI:
// names, dynamic dimensions and their bounds, state tied to results) and
// the KV-cache plumbing of the generation entries.
//
//===----------------------------------------------------------------------===//

#include "Blocks.h"

#include "tfm/Frontends/ModelBuilder.h"
#include "tfm/IR/TfmOps.h"
#include "tfmc/abi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::blocks;

namespace {

//===----------------------------------------------------------------------===//
// Layers and stacks
//===----------------------------------------------------------------------===//

/// What one pass through a stack needs besides its input.
struct StackInputs {
  Value selfMask;           ///< additive padding mask of self-attention
  Value memory, memoryMask; ///< encoder output and its mask (cross-attention)
  /// Per decoder layer: cross-attention keys and values computed once per
  /// source (cross_kv), in place of `memory`.
  SmallVector<Value> crossKeys, crossValues;
  bool causal = false;
  KVCache *cache = nullptr;
  SmallVectorImpl<Value> *selfProbs = nullptr, *crossProbs = nullptr;
};

/// The layers of stack `s` over `x`, each a sequence of residual
/// sublayers (self-attention, cross-attention when there is a memory, the
/// feed-forward network): post-LN is norm(x + f(x)) as in the paper, pre-LN
/// x + f(norm(x)) as in GPT-2, parallel x + (attn(h) + ffn(h)) with one
/// h = norm(x) as in Phi; then the final norm if the family has one.
Value layerStack(Context &c, Value x, const StackInputs &in, Stack s) {
  const ModelSpec &spec = c.spec;
  bool pre = spec.norm.placement == NormPlacement::Pre;
  // Relative position biases (T5): computed once with the padding mask
  // and shared by every layer's self-attention.
  Value selfMask = in.selfMask;
  if (spec.positions.kind == PositionKind::Relative)
    selfMask = relativeBias(
        c, x, s, in.cache ? in.cache->past : Value(),
        in.cache ? spec.maxSeqLen
                 : cast<RankedTensorType>(x.getType()).getDimSize(1),
        in.selfMask);
  auto selfAttention = [&](Value h, int64_t l) {
    AttentionInputs a;
    a.query = a.keyValue = h;
    a.padMask = selfMask;
    a.causal = in.causal;
    a.cache = in.cache;
    a.probs = in.selfProbs;
    return attention(c, a, s, l);
  };
  for (int64_t l = 0; l < spec.stack(s).layers; ++l) {
    if (spec.norm.placement == NormPlacement::Parallel) {
      c.at(s, l, "self_attn");
      Value h = norm(c, x, Param::SelfNormWeight, Param::SelfNormBias, s, l);
      Value a = selfAttention(h, l);
      Value f = feedForward(c, h, s, l);
      c.at(s, l, "ffn");
      x = AddOp::create(c.b, c.loc, x, AddOp::create(c.b, c.loc, a, f));
      continue;
    }
    auto sublayer = [&](StringRef part, Param normW, Param normB,
                        llvm::function_ref<Value(Value)> body) {
      c.at(s, l, part);
      Value h = pre ? norm(c, x, normW, normB, s, l) : x;
      Value y = body(h);
      c.at(s, l, part);
      x = AddOp::create(c.b, c.loc, x, y);
      if (!pre)
        x = norm(c, x, normW, normB, s, l);
    };
    sublayer("self_attn", Param::SelfNormWeight, Param::SelfNormBias,
             [&](Value h) { return selfAttention(h, l); });
    if (in.memory || !in.crossKeys.empty())
      sublayer("cross_attn", Param::CrossNormWeight, Param::CrossNormBias,
               [&](Value h) {
                 AttentionInputs a;
                 a.query = h;
                 a.keyValue = in.memory;
                 if (!in.crossKeys.empty()) {
                   a.key = in.crossKeys[l];
                   a.value = in.crossValues[l];
                 }
                 a.padMask = in.memoryMask;
                 a.cross = true;
                 a.probs = in.crossProbs;
                 return attention(c, a, s, l);
               });
    sublayer("ffn", Param::FFNNormWeight, Param::FFNNormBias,
             [&](Value h) { return feedForward(c, h, s, l); });
  }
  if (spec.norm.final) {
    c.at(s, -1, "final_norm");
    x = norm(c, x, Param::FinalNormWeight, Param::FinalNormBias, s, -1);
  }
  return x;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// One argument or result of an entry: name, type, and the names of its
/// dynamic dimensions ("" for static ones).
struct IO {
  std::string name;
  Type type;
  SmallVector<std::string> dims = {};
  int64_t tiedTo = -1; ///< results: the state argument it updates
};

/// A sequence length as a shape dimension (dynamic: kDynamic).
int64_t shapeDim(int64_t len) {
  return len == ModelSpec::kDynamicLength ? ShapedType::kDynamic : len;
}

/// The dimension names of a [batch, seq, ...] tensor: the sequence is named
/// when its length is chosen at run time.
SmallVector<std::string> seqDims(int64_t len, StringRef name, int64_t rank) {
  SmallVector<std::string> dims(rank);
  if (ShapedType::isDynamic(len))
    dims[1] = name.str();
  return dims;
}

class EntryBuilder {
public:
  EntryBuilder(Context &c, ModuleOp module) : c(c), module(module) {}

  /// forward (decoder, encoder); with `probs`, forward_attention, which
  /// also returns every layer's attention probabilities.
  void forward(bool probs);
  /// forward of a vision encoder: pixel_values to last_hidden_state, and
  /// pooler_output / logits when the model has those heads.
  void vision();
  /// encode (encoder-decoder).
  void encode();
  /// decode (encoder-decoder, teacher forcing); with `probs`,
  /// decode_attention.
  void decode(bool probs);
  /// The entries that generate one step at a time: prefill/decode
  /// (decoder), decode_step (encoder-decoder), which reads the
  /// cross-attention keys and values cross_kv computed once per source.
  void generation(StringRef name, int64_t seq);
  /// cross_kv (encoder-decoder): encoder_hidden_states [1, S, d] to every
  /// decoder layer's cross-attention keys and values [1, S, kv features].
  void crossKV();

private:
  func::FuncOp begin(StringRef name, ArrayRef<IO> args, ArrayRef<IO> results);
  void addProbResults(SmallVectorImpl<IO> &results, StringRef prefix,
                      int64_t layers, Type type, ArrayRef<std::string> dims);

  Context &c;
  ModuleOp module;
};

func::FuncOp EntryBuilder::begin(StringRef name, ArrayRef<IO> args,
                                 ArrayRef<IO> results) {
  OpBuilder &b = c.b;
  SmallVector<Type> argTypes, resultTypes;
  for (const IO &a : args)
    argTypes.push_back(a.type);
  for (const IO &r : results)
    resultTypes.push_back(r.type);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, c.spec.modelLoc, name,
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
          b.getNamedAttr(n.getKey(), b.getI64IntegerAttr(c.spec.maxSeqLen)));
    fn->setAttr(attr::kDimBounds, b.getDictionaryAttr(bounds));
  }
  b.setInsertionPointToStart(fn.addEntryBlock());
  c.beginFunction();
  return fn;
}

/// The probability results of a debug entry: [batch, heads, queries, keys]
/// per layer, named `prefix`.{layer}.
void EntryBuilder::addProbResults(SmallVectorImpl<IO> &results,
                                  StringRef prefix, int64_t layers, Type type,
                                  ArrayRef<std::string> dims) {
  for (int64_t l = 0; l < layers; ++l)
    results.push_back({(prefix + "." + Twine(l)).str(), type,
                       SmallVector<std::string>(dims)});
}

void EntryBuilder::generation(StringRef name, int64_t seq) {
  const ModelSpec &spec = c.spec;
  bool encdec = spec.family == Family::EncoderDecoder;
  int64_t len = shapeDim(seq), d = spec.dModel, layers = spec.decoder.layers;
  int64_t dkv = spec.attention.kvHeads() * spec.headDim();
  SmallVector<IO> args = {
      {encdec ? TFMC_IO_DECODER_INPUT_IDS : TFMC_IO_INPUT_IDS, c.i64({1, len}),
       seqDims(len, TFMC_DIM_SEQ, 2)},
      {TFMC_IO_PAST_LENGTH, c.b.getIndexType()}};
  if (encdec) {
    for (int64_t l = 0; l < layers; ++l)
      for (StringRef kind : {"key", "value"})
        args.push_back({(TFMC_IO_CROSS_KV_PREFIX + Twine(l) + "." + kind).str(),
                        c.f32({1, ShapedType::kDynamic, dkv}),
                        {"", TFMC_DIM_SRC_SEQ, ""}});
    if (spec.paddingMask)
      args.push_back({TFMC_IO_ATTENTION_MASK,
                      c.i64({1, ShapedType::kDynamic}),
                      {"", TFMC_DIM_SRC_SEQ}});
  }
  SmallVector<IO> results = {
      {TFMC_IO_LOGITS, c.f32({1, 1, spec.embedding.vocabSize})}};
  int64_t firstState = args.size();
  // The cache holds the key/value heads (fewer than the query heads with
  // grouped-query attention).
  for (int64_t l = 0; l < layers; ++l)
    for (StringRef kind : {"key", "value"}) {
      std::string state = (TFMC_IO_KV_PREFIX + Twine(l) + "." + kind).str();
      Type type = c.f32({1, spec.maxSeqLen, dkv});
      results.push_back({state, type, {}, static_cast<int64_t>(args.size())});
      args.push_back({state, type});
    }
  func::FuncOp fn = begin(name, args, results);
  Block &body = fn.getBody().front();

  KVCache kv;
  kv.past = body.getArgument(1);
  for (int64_t l = 0; l < layers; ++l) {
    kv.keys.push_back(body.getArgument(firstState + 2 * l));
    kv.values.push_back(body.getArgument(firstState + 2 * l + 1));
  }
  kv.newKeys.resize(layers);
  kv.newValues.resize(layers);
  Value x =
      embeddings(c, body.getArgument(0), Value(), Stack::Decoder, kv.past);
  StackInputs in;
  in.causal = true;
  in.cache = &kv;
  if (encdec) {
    for (int64_t l = 0; l < layers; ++l) {
      in.crossKeys.push_back(body.getArgument(2 + 2 * l));
      in.crossValues.push_back(body.getArgument(3 + 2 * l));
    }
    in.memoryMask = paddingMask(
        c, spec.paddingMask ? body.getArgument(2 + 2 * layers) : Value());
  }
  x = layerStack(c, x, in, Stack::Decoder);
  // Only the last position predicts the next token.
  if (ShapedType::isDynamic(len)) {
    c.at(Stack::Decoder, -1, "lm_head");
    Value last =
        arith::SubIOp::create(c.b, c.loc, c.dimOf(x, 1),
                              arith::ConstantIndexOp::create(c.b, c.loc, 1));
    x = SliceOp::create(c.b, c.loc, x, 1, 0, 1, last);
  }
  SmallVector<Value> returned = {lmHead(c, x)};
  for (int64_t l = 0; l < layers; ++l)
    returned.append({kv.newKeys[l], kv.newValues[l]});
  func::ReturnOp::create(c.b, spec.modelLoc, returned);
}

void EntryBuilder::crossKV() {
  const ModelSpec &spec = c.spec;
  int64_t layers = spec.decoder.layers;
  int64_t dkv = spec.attention.kvHeads() * spec.headDim();
  SmallVector<IO> results;
  for (int64_t l = 0; l < layers; ++l)
    for (StringRef kind : {"key", "value"})
      results.push_back(
          {(TFMC_IO_CROSS_KV_PREFIX + Twine(l) + "." + kind).str(),
           c.f32({1, ShapedType::kDynamic, dkv}),
           {"", TFMC_DIM_SRC_SEQ, ""}});
  func::FuncOp fn = begin(TFMC_ENTRY_CROSS_KV,
                          {{TFMC_IO_ENCODER_HIDDEN_STATES,
                            c.f32({1, ShapedType::kDynamic, spec.dModel}),
                            {"", TFMC_DIM_SRC_SEQ, ""}}},
                          results);
  Value memory = fn.getBody().front().getArgument(0);
  SmallVector<Value> out;
  for (int64_t l = 0; l < layers; ++l) {
    auto [k, v] = crossKeyValue(c, memory, Stack::Decoder, l);
    out.append({k, v});
  }
  func::ReturnOp::create(c.b, spec.modelLoc, out);
}

void EntryBuilder::vision() {
  const ModelSpec &spec = c.spec;
  const VisionConfig &v = spec.vision;
  int64_t bsz = spec.batch, d = spec.dModel;
  SmallVector<IO> args = {
      {"pixel_values",
       c.f32({bsz, v.channels, v.imageSize, v.imageSize})}};
  SmallVector<IO> results = {
      {TFMC_IO_LAST_HIDDEN_STATE, c.f32({bsz, v.patches() + 1, d})}};
  if (v.pooler)
    results.push_back({"pooler_output", c.f32({bsz, d})});
  if (v.numLabels > 0)
    results.push_back({TFMC_IO_LOGITS, c.f32({bsz, v.numLabels})});
  func::FuncOp fn = begin(TFMC_ENTRY_FORWARD, args, results);
  Value x = patchEmbeddings(c, fn.getBody().front().getArgument(0));
  x = layerStack(c, x, StackInputs(), Stack::Encoder);
  SmallVector<Value> out = {x};
  Value cls = v.pooler || v.numLabels ? classToken(c, x) : Value();
  if (v.pooler)
    out.push_back(pooler(c, cls));
  if (v.numLabels > 0)
    out.push_back(classifier(c, cls));
  func::ReturnOp::create(c.b, spec.modelLoc, out);
}

void EntryBuilder::forward(bool probs) {
  const ModelSpec &spec = c.spec;
  int64_t bsz = spec.batch, d = spec.dModel;
  bool enc = spec.family == Family::Encoder;
  Stack s = enc ? Stack::Encoder : Stack::Decoder;
  int64_t layers = spec.stack(s).layers;
  int64_t seq = shapeDim(spec.seqLen);
  SmallVector<IO> args = {
      {TFMC_IO_INPUT_IDS, c.i64({bsz, seq}), seqDims(seq, TFMC_DIM_SEQ, 2)}};
  if (spec.paddingMask)
    args.push_back({TFMC_IO_ATTENTION_MASK, c.i64({bsz, seq}),
                    seqDims(seq, TFMC_DIM_SEQ, 2)});
  if (spec.embedding.typeVocabSize > 0)
    args.push_back({TFMC_IO_TOKEN_TYPE_IDS, c.i64({bsz, seq}),
                    seqDims(seq, TFMC_DIM_SEQ, 2)});
  SmallVector<IO> results = {
      enc ? IO{TFMC_IO_LAST_HIDDEN_STATE, c.f32({bsz, seq, d}),
               seqDims(seq, TFMC_DIM_SEQ, 3)}
          : IO{TFMC_IO_LOGITS, c.f32({bsz, seq, spec.embedding.vocabSize}),
               seqDims(seq, TFMC_DIM_SEQ, 3)}};
  SmallVector<std::string> pdims = {"", "", "", ""};
  if (ShapedType::isDynamic(seq))
    pdims[2] = pdims[3] = TFMC_DIM_SEQ;
  if (probs)
    addProbResults(results, TFMC_IO_ATTENTION_PREFIX, layers,
                   c.f32({bsz, spec.attention.numHeads, seq, seq}), pdims);
  func::FuncOp fn = begin(
      probs ? TFMC_ENTRY_FORWARD_ATTENTION : TFMC_ENTRY_FORWARD, args, results);
  Block &body = fn.getBody().front();
  unsigned next = 1;
  Value attentionMask = spec.paddingMask ? body.getArgument(next++) : Value();
  Value types =
      spec.embedding.typeVocabSize > 0 ? body.getArgument(next++) : Value();
  SmallVector<Value> collected;
  Value x = embeddings(c, body.getArgument(0), types, s, Value());
  StackInputs in;
  in.selfMask = paddingMask(c, attentionMask);
  in.causal = !enc;
  in.selfProbs = probs ? &collected : nullptr;
  x = layerStack(c, x, in, s);
  if (!enc)
    x = lmHead(c, x);
  collected.insert(collected.begin(), x);
  func::ReturnOp::create(c.b, spec.modelLoc, collected);
}

void EntryBuilder::encode() {
  const ModelSpec &spec = c.spec;
  int64_t bsz = spec.batch, d = spec.dModel;
  int64_t src = shapeDim(spec.seqLen);
  // encode(input_ids[, attention_mask]) -> encoder_hidden_states
  SmallVector<IO> args = {{TFMC_IO_INPUT_IDS, c.i64({bsz, src}),
                           seqDims(src, TFMC_DIM_SRC_SEQ, 2)}};
  if (spec.paddingMask)
    args.push_back({TFMC_IO_ATTENTION_MASK, c.i64({bsz, src}),
                    seqDims(src, TFMC_DIM_SRC_SEQ, 2)});
  func::FuncOp fn = begin(TFMC_ENTRY_ENCODE, args,
                          {{TFMC_IO_ENCODER_HIDDEN_STATES, c.f32({bsz, src, d}),
                            seqDims(src, TFMC_DIM_SRC_SEQ, 3)}});
  Block &body = fn.getBody().front();
  Value x =
      embeddings(c, body.getArgument(0), Value(), Stack::Encoder, Value());
  StackInputs in;
  in.selfMask =
      paddingMask(c, spec.paddingMask ? body.getArgument(1) : Value());
  x = layerStack(c, x, in, Stack::Encoder);
  func::ReturnOp::create(c.b, spec.modelLoc, x);
}

void EntryBuilder::decode(bool probs) {
  const ModelSpec &spec = c.spec;
  int64_t bsz = spec.batch, d = spec.dModel;
  int64_t src = shapeDim(spec.seqLen), tgt = shapeDim(spec.targetSeqLen);
  // decode(decoder_input_ids, encoder_hidden_states[, attention_mask]):
  // the whole target sequence at once (teacher forcing).
  SmallVector<IO> args = {{TFMC_IO_DECODER_INPUT_IDS, c.i64({bsz, tgt}),
                           seqDims(tgt, TFMC_DIM_TGT_SEQ, 2)},
                          {TFMC_IO_ENCODER_HIDDEN_STATES, c.f32({bsz, src, d}),
                           seqDims(src, TFMC_DIM_SRC_SEQ, 3)}};
  if (spec.paddingMask)
    args.push_back({TFMC_IO_ATTENTION_MASK, c.i64({bsz, src}),
                    seqDims(src, TFMC_DIM_SRC_SEQ, 2)});
  SmallVector<IO> results = {{TFMC_IO_LOGITS,
                              c.f32({bsz, tgt, spec.embedding.vocabSize}),
                              seqDims(tgt, TFMC_DIM_TGT_SEQ, 3)}};
  if (probs) {
    std::string t = ShapedType::isDynamic(tgt) ? TFMC_DIM_TGT_SEQ : "";
    std::string sr = ShapedType::isDynamic(src) ? TFMC_DIM_SRC_SEQ : "";
    int64_t heads = spec.attention.numHeads, layers = spec.decoder.layers;
    addProbResults(results, TFMC_IO_SELF_ATTENTION_PREFIX, layers,
                   c.f32({bsz, heads, tgt, tgt}), {"", "", t, t});
    addProbResults(results, TFMC_IO_CROSS_ATTENTION_PREFIX, layers,
                   c.f32({bsz, heads, tgt, src}), {"", "", t, sr});
  }
  func::FuncOp fn = begin(
      probs ? TFMC_ENTRY_DECODE_ATTENTION : TFMC_ENTRY_DECODE, args, results);
  Block &body = fn.getBody().front();
  SmallVector<Value> self, cross;
  Value y =
      embeddings(c, body.getArgument(0), Value(), Stack::Decoder, Value());
  StackInputs in;
  in.memory = body.getArgument(1);
  in.memoryMask =
      paddingMask(c, spec.paddingMask ? body.getArgument(2) : Value());
  in.causal = true;
  if (probs) {
    in.selfProbs = &self;
    in.crossProbs = &cross;
  }
  y = layerStack(c, y, in, Stack::Decoder);
  y = lmHead(c, y);
  SmallVector<Value> out = {y};
  out.append(self);
  out.append(cross);
  func::ReturnOp::create(c.b, spec.modelLoc, out);
}

} // namespace

FailureOr<OwningOpRef<ModuleOp>> mlir::tfm::buildModel(MLIRContext *ctx,
                                                       const ModelSpec &spec,
                                                       WeightStore &weights) {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(spec.modelLoc);
  ModuleOp module = *owned;
  Context c(ctx, spec, weights);
  ModelFamily family = spec.family == Family::Encoder ? ModelFamily::encoder
                       : spec.family == Family::Decoder
                           ? ModelFamily::decoder
                           : ModelFamily::encoder_decoder;
  module->setAttr(attr::kModel,
                  ModelAttr::get(ctx, family, spec.embedding.vocabSize,
                                 spec.maxSeqLen, spec.bosId, spec.eosId,
                                 spec.padId, TokenizerAttr()));
  if (spec.vision.enabled() &&
      (spec.vision.preprocessing.present || !spec.vision.labels.empty())) {
    const VisionConfig &v = spec.vision;
    const VisionConfig::Preprocessing &p = v.preprocessing;
    Builder b(ctx);
    SmallVector<NamedAttribute> image = {
        b.getNamedAttr("channels", b.getI64IntegerAttr(v.channels))};
    if (p.present)
      image.append(
          {b.getNamedAttr("height", b.getI64IntegerAttr(p.height)),
           b.getNamedAttr("width", b.getI64IntegerAttr(p.width)),
           b.getNamedAttr("resize", b.getBoolAttr(p.resize)),
           b.getNamedAttr("rescale",
                          b.getF64FloatAttr(p.rescale ? p.rescaleFactor : 0)),
           b.getNamedAttr("mean", b.getF64ArrayAttr(p.normalize
                                                        ? p.mean
                                                        : std::vector<double>(
                                                              v.channels, 0))),
           b.getNamedAttr("std", b.getF64ArrayAttr(p.normalize
                                                       ? p.std
                                                       : std::vector<double>(
                                                             v.channels, 1)))});
    SmallVector<StringRef> labels(v.labels.begin(), v.labels.end());
    image.push_back(b.getNamedAttr("labels", b.getStrArrayAttr(labels)));
    module->setAttr(attr::kImage, b.getDictionaryAttr(image));
  }
  EntryBuilder entries(c, module);
  if (spec.vision.enabled()) {
    entries.vision();
  } else if (spec.family != Family::EncoderDecoder) {
    entries.forward(/*probs=*/false);
    if (spec.family == Family::Decoder) {
      // Generation: a prompt of any length, then one token at a time.
      entries.generation(TFMC_ENTRY_PREFILL, ModelSpec::kDynamicLength);
      entries.generation(TFMC_ENTRY_DECODE, 1);
    }
    if (spec.attentionEntries)
      entries.forward(/*probs=*/true);
  } else {
    entries.encode();
    entries.decode(/*probs=*/false);
    // Generation: one target token at a time against the encoder output.
    entries.crossKV();
    entries.generation(TFMC_ENTRY_DECODE_STEP, 1);
    if (spec.attentionEntries)
      entries.decode(/*probs=*/true);
  }
  if (c.failed())
    return failure();
  return std::move(owned);
}
