//===- TomlFrontend.cpp - tfmc's TOML model format ------------------------===//
//
// Part of tfmc. Parses the model description format of docs/model-format.md
// with toml++ and validates every key: unknown keys, wrong types, missing
// keys and inconsistent sizes are reported at file:line:col.
//
//===----------------------------------------------------------------------===//

#define TOML_EXCEPTIONS 0
// toml++ 3.3 asserts, in NDEBUG builds as __builtin_assume, that a table
// header's key starts with a key character; "[&x]" breaks that and the
// parser then runs on undefined behaviour (found by test/fuzz's fuzz-toml
// under UBSan). Without the assumption the parser reports the bad key.
#include <toml++/impl/preprocessor.h>
#undef TOML_ASSERT_ASSUME
#define TOML_ASSERT_ASSUME(expr) static_assert(true)
#include <toml++/toml.h>

#include "tfm/Frontends/Frontends.h"
#include "tfm/Support/InputFile.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::tfm;
using llvm::StringRef;

namespace {

const char *typeName(const toml::node &n) {
  switch (n.type()) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  default:
    return "a date/time";
  }
}

/// Reads the keys of one TOML table against a fixed schema and reports every
/// violation at the offending key.
class TableReader {
public:
  TableReader(MLIRContext &ctx, StringRef path, const toml::table &table,
              std::string tableName)
      : ctx(ctx), path(path), table(table), tableName(std::move(tableName)) {}

  Location loc(const toml::source_region &r) const {
    return FileLineColLoc::get(&ctx, path, r.begin.line, r.begin.column);
  }
  Location tableLoc() const { return loc(table.source()); }
  Location keyLoc(StringRef key) const {
    for (auto &&[k, v] : table)
      if (StringRef(k.str().data(), k.str().size()) == key)
        return loc(k.source());
    return tableLoc();
  }

  /// Reports an error at `key` ("key 'x' in [model]: ...").
  InFlightDiagnostic error(StringRef key) {
    failed = true;
    return emitError(keyLoc(key))
           << "key '" << key << "' in [" << tableName << "]: ";
  }

  const toml::node *get(StringRef key) {
    known.insert(key);
    return table.get(std::string_view(key.data(), key.size()));
  }

  std::optional<int64_t> integer(StringRef key, bool required, int64_t min,
                                 std::optional<int64_t> dflt = std::nullopt) {
    const toml::node *n = get(key);
    if (!n) {
      if (required) {
        failed = true;
        emitError(tableLoc()) << "[" << tableName << "] is missing the key '"
                              << key << "' (an integer)";
      }
      return dflt;
    }
    if (!n->is_integer()) {
      error(key) << "expected an integer, got " << typeName(*n);
      return dflt;
    }
    int64_t v = n->as_integer()->get();
    if (v < min) {
      error(key) << "must be at least " << min << ", got " << v;
      return dflt;
    }
    return v;
  }

  double number(StringRef key, double dflt, double min) {
    const toml::node *n = get(key);
    if (!n)
      return dflt;
    double v;
    if (n->is_floating_point())
      v = n->as_floating_point()->get();
    else if (n->is_integer())
      v = static_cast<double>(n->as_integer()->get());
    else {
      error(key) << "expected a number, got " << typeName(*n);
      return dflt;
    }
    if (!(v >= min)) {
      error(key) << "must be at least " << min << ", got " << v;
      return dflt;
    }
    return v;
  }

  bool boolean(StringRef key, bool dflt) {
    const toml::node *n = get(key);
    if (!n)
      return dflt;
    if (!n->is_boolean()) {
      error(key) << "expected true or false, got " << typeName(*n);
      return dflt;
    }
    return n->as_boolean()->get();
  }

  std::optional<std::string> string(StringRef key) {
    const toml::node *n = get(key);
    if (!n)
      return std::nullopt;
    if (!n->is_string()) {
      error(key) << "expected a string, got " << typeName(*n);
      return std::nullopt;
    }
    return n->as_string()->get();
  }

  /// One of `choices`; returns its index.
  std::optional<size_t> choice(StringRef key, ArrayRef<StringRef> choices,
                               bool required) {
    std::optional<std::string> s = string(key);
    if (!s) {
      if (required && !get(key)) {
        failed = true;
        emitError(tableLoc())
            << "[" << tableName << "] is missing the key '" << key << "'";
      }
      return std::nullopt;
    }
    for (auto [i, c] : llvm::enumerate(choices))
      if (c == *s)
        return i;
    auto diag = error(key);
    diag << "unknown value '" << *s << "' (expected one of: ";
    llvm::interleaveComma(choices, diag, [&](StringRef c) { diag << c; });
    diag << ")";
    return std::nullopt;
  }

  /// Reports keys that are not part of the schema.
  void rejectUnknownKeys() {
    for (auto &&[k, v] : table) {
      if (known.contains(StringRef(k.str().data(), k.str().size())))
        continue;
      failed = true;
      emitError(loc(k.source()))
          << "unknown key '" << k.str() << "' in [" << tableName << "]";
    }
  }

  bool failed = false;

private:
  MLIRContext &ctx;
  StringRef path;
  const toml::table &table;
  std::string tableName;
  llvm::StringSet<> known;
};

} // namespace

FailureOr<std::unique_ptr<ModelSpec>>
mlir::tfm::parseTomlModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
                          StringRef path,
                          std::unique_ptr<WeightStore> &weights) {
  auto buf = readInputFile(path, TFMC_MAX_CONFIG_FILE_BYTES);
  if (!buf) {
    emitError(fileLoc(ctx, path))
        << "cannot read the model file: " << llvm::toString(buf.takeError());
    return failure();
  }
  std::string text = (*buf)->getBuffer().str();
  sourceMgr.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());

  toml::parse_result parsed = toml::parse(
      std::string_view(text), std::string_view(path.data(), path.size()));
  if (!parsed) {
    const toml::parse_error &e = parsed.error();
    emitError(FileLineColLoc::get(&ctx, path, e.source().begin.line,
                                  e.source().begin.column))
        << "malformed TOML: " << std::string(e.description());
    return failure();
  }
  const toml::table &root = parsed.table();
  bool failed = false;

  // Top-level tables.
  static const llvm::StringSet<> kTables = {
      "model", "encoder", "decoder", "moe", "weights", "compile", "tokenizer"};
  for (auto &&[k, v] : root) {
    Location l = FileLineColLoc::get(&ctx, path, k.source().begin.line,
                                     k.source().begin.column);
    if (!kTables.contains(StringRef(k.str().data(), k.str().size()))) {
      emitError(l) << "unknown table or key '" << k.str()
                   << "' (expected [model], [encoder], [decoder], [moe], "
                      "[weights], [compile], [tokenizer])";
      failed = true;
    } else if (!v.is_table()) {
      emitError(l) << "'" << k.str() << "' must be a table, got "
                   << typeName(v);
      failed = true;
    }
  }
  if (failed)
    return failure();
  auto tableOf = [&](StringRef name) -> const toml::table * {
    return root.get_as<toml::table>(std::string_view(name.data(), name.size()));
  };
  const toml::table *model = tableOf("model");
  if (!model) {
    emitError(FileLineColLoc::get(&ctx, path, 1, 1))
        << "the model file has no [model] table";
    return failure();
  }

  TableReader m(ctx, path, *model, "model");
  auto spec = std::make_unique<ModelSpec>(m.tableLoc());
  std::optional<size_t> family =
      m.choice("family", {"encoder", "decoder", "encoder-decoder"}, true);
  if (family)
    spec->family = static_cast<Family>(*family);
  // One block configuration at a time (ModelSpec.h).
  EmbeddingConfig &emb = spec->embedding;
  AttentionConfig &att = spec->attention;
  FeedForwardConfig &ffn = spec->ffn;
  NormConfig &norm = spec->norm;
  emb.vocabSize = m.integer("vocab_size", true, 1).value_or(0);
  spec->dModel = m.integer("d_model", true, 1).value_or(0);
  att.numHeads = m.integer("num_heads", true, 1).value_or(0);
  att.numKVHeads = m.integer("num_kv_heads", false, 1, 0).value_or(0);
  att.slidingWindow = m.integer("sliding_window", false, 1, 0).value_or(0);
  ffn.dFF = m.integer("d_ff", true, 1).value_or(0);
  spec->maxSeqLen = m.integer("max_seq_len", true, 1).value_or(0);
  if (auto c = m.choice("norm", {"layernorm", "rmsnorm"}, false))
    norm.kind = static_cast<NormKind>(*c);
  if (auto c = m.choice("norm_placement", {"post", "pre"}, false))
    norm.placement = static_cast<NormPlacement>(*c);
  norm.eps = m.number("norm_eps", 1e-5, 0.0);
  if (auto c =
          m.choice("activation", {"relu", "gelu", "gelu_tanh", "silu"}, false))
    ffn.activation = static_cast<Activation>(*c);
  if (auto c = m.choice("ffn", {"plain", "gated"}, false))
    ffn.gated = *c == 1;
  if (auto c = m.choice("positional_encoding",
                        {"sinusoidal", "learned", "none", "rotary"}, false))
    spec->positions.kind = static_cast<PositionKind>(*c);
  bool rotary = spec->positions.kind == PositionKind::Rotary;
  for (StringRef key : {"rotary_base", "rotary_dim", "rotary_interleaved"})
    if (!rotary && m.get(key))
      m.error(key) << "needs positional_encoding = \"rotary\"";
  if (rotary) {
    spec->positions.base = m.number("rotary_base", 10000.0, 1.0);
    if (spec->positions.base <= 1.0)
      m.error("rotary_base") << "must be greater than 1";
    spec->positions.rotaryDim =
        m.integer("rotary_dim", false, 2, 0).value_or(0);
    spec->positions.rotaryInterleaved = m.boolean("rotary_interleaved", false);
  }
  att.bias = att.outBias = m.boolean("attention_bias", true);
  ffn.bias = m.boolean("ffn_bias", true);
  spec->head.tied = m.boolean("tie_embeddings", true);
  emb.shared = m.boolean("shared_embeddings", true);
  emb.scale = m.boolean("embedding_scale", false);
  emb.norm = m.boolean("embedding_norm", false);
  norm.final = m.boolean("final_norm", norm.placement == NormPlacement::Pre);
  spec->paddingMask = m.boolean("padding_mask", false);
  emb.typeVocabSize = m.integer("type_vocab_size", false, 0, 0).value_or(0);
  for (auto [key, field] :
       {std::pair<StringRef, int64_t *>{"pad_id", &spec->padId},
        {"bos_id", &spec->bosId},
        {"eos_id", &spec->eosId}}) {
    std::optional<int64_t> id = m.integer(key, false, 0);
    if (id && emb.vocabSize > 0 && *id >= emb.vocabSize)
      m.error(key) << "token id " << *id << " is not below vocab_size "
                   << emb.vocabSize;
    else if (id)
      *field = *id;
  }
  m.rejectUnknownKeys();
  failed |= m.failed;
  if (!failed && spec->dModel % att.numHeads != 0) {
    m.error("num_heads") << "d_model = " << spec->dModel
                         << " is not divisible by num_heads = " << att.numHeads;
    failed = true;
  }
  if (int64_t r = spec->positions.rotaryDim;
      !failed && r && (r % 2 != 0 || r > spec->headDim())) {
    m.error("rotary_dim") << "rotary_dim = " << r
                          << " must be even and at most the head dimension "
                          << spec->headDim();
    failed = true;
  }
  if (!failed && att.slidingWindow && spec->family == Family::Encoder) {
    m.error("sliding_window")
        << "a sliding window limits causal self-attention; an encoder has none";
    failed = true;
  }
  if (!failed && att.numHeads % att.kvHeads() != 0) {
    m.error("num_kv_heads")
        << "num_heads = " << att.numHeads
        << " is not a multiple of num_kv_heads = " << att.kvHeads();
    failed = true;
  }

  // Stacks.
  auto readStack = [&](StringRef name, bool wanted, StackConfig &stack) {
    const toml::table *t = tableOf(name);
    if (!wanted) {
      if (t) {
        emitError(FileLineColLoc::get(&ctx, path, t->source().begin.line,
                                      t->source().begin.column))
            << "[" << name << "] is not used by a '" << stringify(spec->family)
            << "' model";
        failed = true;
      }
      return;
    }
    if (!t) {
      emitError(spec->modelLoc)
          << "a '" << stringify(spec->family) << "' model needs an [" << name
          << "] table with 'layers'";
      failed = true;
      return;
    }
    TableReader r(ctx, path, *t, name.str());
    stack.loc = r.tableLoc();
    stack.layers = r.integer("layers", true, 1).value_or(0);
    r.rejectUnknownKeys();
    failed |= r.failed;
  };
  if (family) {
    readStack("encoder", spec->hasEncoder(), spec->encoder);
    readStack("decoder", spec->hasDecoder(), spec->decoder);
  }

  // A mixture of gated experts in place of every layer's feed-forward
  // network.
  if (const toml::table *t = tableOf("moe")) {
    TableReader r(ctx, path, *t, "moe");
    MoEConfig &moe = spec->moe;
    moe.experts = r.integer("experts", true, 1).value_or(0);
    moe.topK = r.integer("top_k", false, 1, 2).value_or(2);
    if (auto c = r.choice("routing", {"topk_softmax", "softmax_topk"}, false))
      moe.topkSoftmax = *c == 0;
    r.rejectUnknownKeys();
    if (!r.failed && moe.topK > moe.experts)
      r.error("top_k") << "top_k = " << moe.topK
                       << " exceeds experts = " << moe.experts;
    failed |= r.failed;
    if (!r.failed && !ffn.gated) {
      emitError(r.tableLoc())
          << "[moe] experts are gated feed-forward networks: set ffn = "
             "\"gated\" in [model]";
      failed = true;
    } else if (!r.failed && ffn.bias && m.get("ffn_bias")) {
      emitError(m.keyLoc("ffn_bias"))
          << "key 'ffn_bias' in [model]: experts have no biases; remove the "
             "key or set it to false";
      failed = true;
    }
    ffn.bias = false;
  }

  // Compile-time shapes: a length not given is chosen at run time.
  spec->seqLen = spec->targetSeqLen = ModelSpec::kDynamicLength;
  if (const toml::table *c = tableOf("compile")) {
    TableReader r(ctx, path, *c, "compile");
    spec->batch = r.integer("batch", false, 1, 1).value_or(1);
    spec->seqLen = r.integer("seq_len", false, 1, ModelSpec::kDynamicLength)
                       .value_or(ModelSpec::kDynamicLength);
    spec->targetSeqLen =
        r.integer("target_seq_len", false, 1, ModelSpec::kDynamicLength)
            .value_or(ModelSpec::kDynamicLength);
    if (!r.failed && spec->seqLen > spec->maxSeqLen)
      r.error("seq_len") << spec->seqLen
                         << " exceeds max_seq_len = " << spec->maxSeqLen;
    if (!r.failed && spec->targetSeqLen > spec->maxSeqLen)
      r.error("target_seq_len")
          << spec->targetSeqLen << " exceeds max_seq_len = " << spec->maxSeqLen;
    if (r.get("target_seq_len") && spec->family != Family::EncoderDecoder)
      r.error("target_seq_len") << "only applies to encoder-decoder models";
    r.rejectUnknownKeys();
    failed |= r.failed;
  }
  if (spec->family != Family::EncoderDecoder)
    spec->targetSeqLen = spec->seqLen;

  // Weights.
  const toml::table *w = tableOf("weights");
  if (!w) {
    emitError(FileLineColLoc::get(&ctx, path, 1, 1))
        << "the model file has no [weights] table (give 'file' or "
           "init = \"random\")";
    return failure();
  }
  TableReader wr(ctx, path, *w, "weights");
  std::optional<std::string> file = wr.string("file");
  std::optional<size_t> init = wr.choice("init", {"random"}, false);
  std::optional<int64_t> seed = wr.integer("seed", false, 0);
  wr.rejectUnknownKeys();
  failed |= wr.failed;
  if (failed)
    return failure();
  if (file.has_value() == init.has_value()) {
    emitError(wr.tableLoc()) << "[weights] needs exactly one of 'file' (a "
                                "safetensors path) or init = \"random\"";
    return failure();
  }
  if (seed && !init) {
    wr.error("seed") << "only applies to init = \"random\"";
    return failure();
  }
  if (init) {
    weights = WeightStore::random(seed.value_or(0));
  } else {
    llvm::SmallString<256> full(*file);
    if (llvm::sys::path::is_relative(full)) {
      full = llvm::sys::path::parent_path(path);
      llvm::sys::path::append(full, *file);
    }
    auto st = SafetensorsFile::open(full);
    if (!st) {
      wr.error("file") << "cannot read weights: "
                       << llvm::toString(st.takeError());
      return failure();
    }
    weights = WeightStore::fromSafetensors(std::move(*st));
  }
  // Tokenizer: its kind and the directory holding its files.
  if (const toml::table *t = tableOf("tokenizer")) {
    TableReader tr(ctx, path, *t, "tokenizer");
    static const StringRef kKinds[] = {"char", "byte_bpe", "wordpiece",
                                       "tokenizer_json"};
    std::optional<size_t> kind = tr.choice("kind", kKinds, true);
    std::optional<std::string> dir = tr.string("directory");
    bool lowercase = tr.boolean("lowercase", false);
    tr.rejectUnknownKeys();
    if (tr.failed || !kind)
      return failure();
    llvm::SmallString<256> full(dir.value_or("."));
    if (llvm::sys::path::is_relative(full)) {
      full = llvm::sys::path::parent_path(path);
      llvm::sys::path::append(full, dir.value_or("."));
    }
    (void)llvm::sys::fs::make_absolute(full);
    if (!llvm::sys::fs::is_directory(full)) {
      tr.error("directory") << "'" << full << "' is not a directory";
      return failure();
    }
    spec->tokenizer.kind = kKinds[*kind].str();
    spec->tokenizer.directory = std::string(full);
    spec->tokenizer.lowercase = lowercase;
    spec->tokenizer.loc = tr.tableLoc();
  }
  spec->naming =
      makeCanonicalNaming(spec->family == Family::EncoderDecoder, emb.shared);
  return spec;
}
