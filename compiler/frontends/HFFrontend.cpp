//===- HFFrontend.cpp - Hugging Face GPT-2 and BERT folders ---------------===//
//
// Part of tfmc. Maps a Hugging Face config.json onto a ModelSpec and the
// checkpoint's tensor names onto the architecture's parameters. Compiled with
// exceptions so that nlohmann::json errors are caught here.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Frontends.h"
#include "tfm/Support/Abi.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <nlohmann/json.hpp>

using namespace mlir;
using namespace mlir::tfm;
using llvm::StringRef;
using json = nlohmann::json;

namespace {

//===----------------------------------------------------------------------===//
// Parameter names
//===----------------------------------------------------------------------===//

/// GPT-2: Conv1D weights stored [in, out], one fused c_attn projection,
/// pre-LN, names with or without the "transformer." prefix.
class GPT2Naming final : public WeightNaming {
public:
  explicit GPT2Naming(std::string prefix) : prefix(std::move(prefix)) {}
  bool weightsInOut() const override { return true; }
  bool fusedQKV() const override { return true; }

  std::string name(Param p, Stack, int64_t layer) const override {
    std::string h = prefix + "h." + std::to_string(layer) + ".";
    switch (p) {
    case Param::TokenEmbedding:
      return prefix + "wte.weight";
    case Param::PositionEmbedding:
      return prefix + "wpe.weight";
    case Param::SelfQKVWeight:
      return h + "attn.c_attn.weight";
    case Param::SelfQKVBias:
      return h + "attn.c_attn.bias";
    case Param::SelfOutWeight:
      return h + "attn.c_proj.weight";
    case Param::SelfOutBias:
      return h + "attn.c_proj.bias";
    case Param::SelfNormWeight:
      return h + "ln_1.weight";
    case Param::SelfNormBias:
      return h + "ln_1.bias";
    case Param::FFNNormWeight:
      return h + "ln_2.weight";
    case Param::FFNNormBias:
      return h + "ln_2.bias";
    case Param::FFNInWeight:
      return h + "mlp.c_fc.weight";
    case Param::FFNInBias:
      return h + "mlp.c_fc.bias";
    case Param::FFNOutWeight:
      return h + "mlp.c_proj.weight";
    case Param::FFNOutBias:
      return h + "mlp.c_proj.bias";
    case Param::FinalNormWeight:
      return prefix + "ln_f.weight";
    case Param::FinalNormBias:
      return prefix + "ln_f.bias";
    case Param::LMHeadWeight:
      return "lm_head.weight";
    default:
      return "<gpt2 has no " + std::to_string(int(p)) + ">";
    }
  }
  std::string scope(Stack, int64_t layer, StringRef part) const override {
    if (layer < 0) {
      if (part == "embeddings")
        return prefix + "wte";
      if (part == "final_norm")
        return prefix + "ln_f";
      return part.str();
    }
    std::string h = prefix + "h." + std::to_string(layer) + ".";
    return h + (part == "self_attn" ? "attn"
                : part == "ffn"     ? "mlp"
                                    : part.str());
  }

private:
  std::string prefix;
};

/// BERT: nn.Linear weights, separate query/key/value, post-LN, names with or
/// without the "bert." prefix.
class BertNaming final : public WeightNaming {
public:
  explicit BertNaming(std::string prefix) : prefix(std::move(prefix)) {}

  std::string name(Param p, Stack, int64_t layer) const override {
    std::string e = prefix + "embeddings.";
    std::string l = prefix + "encoder.layer." + std::to_string(layer) + ".";
    switch (p) {
    case Param::TokenEmbedding:
      return e + "word_embeddings.weight";
    case Param::PositionEmbedding:
      return e + "position_embeddings.weight";
    case Param::TokenTypeEmbedding:
      return e + "token_type_embeddings.weight";
    case Param::EmbeddingNormWeight:
      return e + "LayerNorm.weight";
    case Param::EmbeddingNormBias:
      return e + "LayerNorm.bias";
    case Param::SelfQWeight:
      return l + "attention.self.query.weight";
    case Param::SelfQBias:
      return l + "attention.self.query.bias";
    case Param::SelfKWeight:
      return l + "attention.self.key.weight";
    case Param::SelfKBias:
      return l + "attention.self.key.bias";
    case Param::SelfVWeight:
      return l + "attention.self.value.weight";
    case Param::SelfVBias:
      return l + "attention.self.value.bias";
    case Param::SelfOutWeight:
      return l + "attention.output.dense.weight";
    case Param::SelfOutBias:
      return l + "attention.output.dense.bias";
    case Param::SelfNormWeight:
      return l + "attention.output.LayerNorm.weight";
    case Param::SelfNormBias:
      return l + "attention.output.LayerNorm.bias";
    case Param::FFNInWeight:
      return l + "intermediate.dense.weight";
    case Param::FFNInBias:
      return l + "intermediate.dense.bias";
    case Param::FFNOutWeight:
      return l + "output.dense.weight";
    case Param::FFNOutBias:
      return l + "output.dense.bias";
    case Param::FFNNormWeight:
      return l + "output.LayerNorm.weight";
    case Param::FFNNormBias:
      return l + "output.LayerNorm.bias";
    default:
      return "<bert has no " + std::to_string(int(p)) + ">";
    }
  }
  std::string scope(Stack, int64_t layer, StringRef part) const override {
    if (layer < 0)
      return prefix + (part == "embeddings" ? "embeddings" : part.str());
    std::string l = prefix + "encoder.layer." + std::to_string(layer) + ".";
    return l + (part == "self_attn" ? "attention"
                : part == "ffn"     ? "intermediate"
                                    : part.str());
  }

private:
  std::string prefix;
};

//===----------------------------------------------------------------------===//
// config.json reading
//===----------------------------------------------------------------------===//

/// Typed access to config.json keys; errors name the key and point at it.
class ConfigReader {
public:
  ConfigReader(MLIRContext &ctx, StringRef path, StringRef text,
               const json &cfg)
      : ctx(ctx), path(path), text(text), cfg(cfg) {}

  /// file:line:col of the key's first occurrence (top-level keys of HF
  /// configs are unique), or the file when it is absent.
  Location keyLoc(StringRef key) const {
    size_t pos = text.find(("\"" + key + "\"").str());
    if (pos == StringRef::npos)
      return FileLineColLoc::get(&ctx, path, 1, 1);
    StringRef before = text.take_front(pos);
    unsigned line = 1 + before.count('\n');
    size_t nl = before.rfind('\n');
    unsigned col = pos - (nl == StringRef::npos ? 0 : nl + 1) + 1;
    return FileLineColLoc::get(&ctx, path, line, col);
  }

  InFlightDiagnostic error(StringRef key) {
    failed = true;
    return emitError(keyLoc(key)) << "config key '" << key << "': ";
  }

  bool has(StringRef key) const {
    return cfg.contains(key.str()) && !cfg[key.str()].is_null();
  }

  int64_t integer(StringRef key, std::optional<int64_t> dflt = std::nullopt) {
    if (!has(key)) {
      if (!dflt) {
        failed = true;
        emitError(FileLineColLoc::get(&ctx, path, 1, 1))
            << "config is missing the key '" << key << "' (an integer)";
        return 0;
      }
      return *dflt;
    }
    const json &v = cfg[key.str()];
    if (!v.is_number_integer()) {
      error(key) << "expected an integer";
      return 0;
    }
    int64_t i = v.get<int64_t>();
    if (i <= 0 && !dflt) {
      error(key) << "must be positive, got " << i;
      return 0;
    }
    return i;
  }

  double number(StringRef key, double dflt) {
    if (!has(key))
      return dflt;
    const json &v = cfg[key.str()];
    if (!v.is_number()) {
      error(key) << "expected a number";
      return dflt;
    }
    return v.get<double>();
  }

  std::optional<std::string> string(StringRef key) {
    if (!has(key))
      return std::nullopt;
    const json &v = cfg[key.str()];
    if (!v.is_string()) {
      error(key) << "expected a string";
      return std::nullopt;
    }
    return v.get<std::string>();
  }

  /// A boolean key that tfmc only supports with one value.
  void require(StringRef key, bool supported) {
    if (!has(key))
      return;
    const json &v = cfg[key.str()];
    if (!v.is_boolean())
      error(key) << "expected true or false";
    else if (v.get<bool>() != supported)
      error(key) << "tfmc supports only " << (supported ? "true" : "false");
  }

  bool boolean(StringRef key, bool dflt) {
    if (!has(key))
      return dflt;
    const json &v = cfg[key.str()];
    if (!v.is_boolean()) {
      error(key) << "expected true or false";
      return dflt;
    }
    return v.get<bool>();
  }

  Activation activation(StringRef key, StringRef dflt) {
    std::string a = string(key).value_or(dflt.str());
    if (a == "gelu")
      return Activation::GELU;
    if (a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu_fast")
      return Activation::GELUTanh;
    if (a == "relu")
      return Activation::ReLU;
    if (a == "silu" || a == "swish")
      return Activation::SiLU;
    error(key) << "unsupported activation '" << a
               << "' (tfmc supports gelu, gelu_new, gelu_pytorch_tanh, relu, "
                  "silu)";
    return Activation::GELU;
  }

  bool failed = false;

private:
  MLIRContext &ctx;
  StringRef path, text;
  const json &cfg;
};

/// Detects which of the given prefixes the checkpoint's names use.
std::string detectPrefix(const SafetensorsFile &file, StringRef probe,
                         ArrayRef<StringRef> prefixes) {
  for (StringRef p : prefixes)
    if (file.find((p + probe).str()))
      return p.str();
  return "";
}

} // namespace

FailureOr<std::unique_ptr<ModelSpec>>
mlir::tfm::parseHFModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
                        StringRef dir, std::unique_ptr<WeightStore> &weights) {
  llvm::SmallString<256> cfgPath(dir), stPath(dir);
  llvm::sys::path::append(cfgPath, "config.json");
  llvm::sys::path::append(stPath, "model.safetensors");
  auto buf = llvm::MemoryBuffer::getFile(cfgPath, /*IsText=*/true);
  if (!buf) {
    emitError(fileLoc(ctx, dir))
        << "not a Hugging Face model folder: cannot read config.json ("
        << buf.getError().message() << ")";
    return failure();
  }
  std::string text = (*buf)->getBuffer().str();
  sourceMgr.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());
  json cfg;
  try {
    cfg = json::parse(text);
  } catch (const json::parse_error &e) {
    // Convert the byte offset of the error into line:col.
    StringRef before = StringRef(text).take_front(
        std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size()));
    unsigned line = 1 + before.count('\n');
    size_t nl = before.rfind('\n');
    unsigned col = before.size() - (nl == StringRef::npos ? 0 : nl + 1) + 1;
    emitError(FileLineColLoc::get(&ctx, cfgPath, line, col))
        << "malformed JSON: " << e.what();
    return failure();
  }
  if (!cfg.is_object()) {
    emitError(FileLineColLoc::get(&ctx, cfgPath, 1, 1))
        << "config.json must hold a JSON object";
    return failure();
  }
  ConfigReader r(ctx, cfgPath, text, cfg);
  std::optional<std::string> type = r.string("model_type");
  if (!type) {
    if (!r.failed)
      emitError(FileLineColLoc::get(&ctx, cfgPath, 1, 1))
          << "config is missing the key 'model_type'";
    return failure();
  }
  if (*type != "gpt2" && *type != "bert") {
    r.error("model_type") << "unsupported model type '" << *type
                          << "' (tfmc reads 'gpt2' and 'bert' folders)";
    return failure();
  }

  // Weights first: the naming depends on the checkpoint's prefixes.
  if (!llvm::sys::fs::exists(stPath)) {
    llvm::SmallString<256> bin(dir);
    llvm::sys::path::append(bin, "pytorch_model.bin");
    emitError(fileLoc(ctx, stPath))
        << "missing model.safetensors"
        << (llvm::sys::fs::exists(bin)
                ? " (only safetensors checkpoints are read; re-save the "
                  "model with safe_serialization=True)"
                : "");
    return failure();
  }
  auto file = SafetensorsFile::open(stPath);
  if (!file) {
    emitError(fileLoc(ctx, stPath)) << llvm::toString(file.takeError());
    return failure();
  }

  auto spec = std::make_unique<ModelSpec>(fileLoc(ctx, cfgPath));
  spec->encoderLoc = spec->decoderLoc = fileLoc(ctx, stPath);
  if (*type == "gpt2") {
    spec->family = Family::Decoder;
    spec->dModel = r.integer("n_embd");
    spec->numHeads = r.integer("n_head");
    spec->decoderLayers = r.integer("n_layer");
    spec->vocabSize = r.integer("vocab_size");
    spec->maxSeqLen = r.integer("n_positions");
    spec->dFF = r.has("n_inner") ? r.integer("n_inner") : 4 * spec->dModel;
    spec->activation = r.activation("activation_function", "gelu_new");
    spec->normEps = r.number("layer_norm_epsilon", 1e-5);
    spec->norm = NormKind::LayerNorm;
    spec->placement = NormPlacement::Pre;
    spec->finalNorm = true;
    spec->positions = PositionKind::Learned;
    spec->tieEmbeddings = r.boolean("tie_word_embeddings", true);
    r.require("scale_attn_weights", true);
    r.require("scale_attn_by_inverse_layer_idx", false);
    r.require("add_cross_attention", false);
    spec->naming = std::make_unique<GPT2Naming>(
        detectPrefix(**file, "wte.weight", {"transformer.", ""}));
  } else {
    spec->family = Family::Encoder;
    spec->dModel = r.integer("hidden_size");
    spec->numHeads = r.integer("num_attention_heads");
    spec->encoderLayers = r.integer("num_hidden_layers");
    spec->dFF = r.integer("intermediate_size");
    spec->vocabSize = r.integer("vocab_size");
    spec->maxSeqLen = r.integer("max_position_embeddings");
    spec->typeVocabSize = r.integer("type_vocab_size", 2);
    spec->activation = r.activation("hidden_act", "gelu");
    spec->normEps = r.number("layer_norm_eps", 1e-12);
    spec->norm = NormKind::LayerNorm;
    spec->placement = NormPlacement::Post;
    spec->positions = PositionKind::Learned;
    spec->embeddingNorm = true;
    spec->paddingMask = true;
    if (std::optional<std::string> pe = r.string("position_embedding_type");
        pe && *pe != "absolute")
      r.error("position_embedding_type")
          << "tfmc supports only 'absolute' positions, got '" << *pe << "'";
    r.require("is_decoder", false);
    r.require("add_cross_attention", false);
    spec->naming = std::make_unique<BertNaming>(detectPrefix(
        **file, "embeddings.word_embeddings.weight", {"bert.", ""}));
  }
  if (r.failed)
    return failure();
  if (spec->dModel % spec->numHeads != 0) {
    r.error(*type == "gpt2" ? "n_head" : "num_attention_heads")
        << spec->dModel << " features are not divisible into " << spec->numHeads
        << " heads";
    return failure();
  }
  for (auto [key, field] :
       {std::pair<StringRef, int64_t *>{"pad_token_id", &spec->padId},
        {"bos_token_id", &spec->bosId},
        {"eos_token_id", &spec->eosId}}) {
    // HF configs often carry ids of the full tokenizer; keep those in range.
    if (r.has(key) && cfg[key.str()].is_number_integer()) {
      int64_t id = cfg[key.str()].get<int64_t>();
      if (id >= 0 && id < spec->vocabSize)
        *field = id;
    }
  }
  spec->seqLen = spec->targetSeqLen = ModelSpec::kDynamicLength;
  weights = WeightStore::fromSafetensors(std::move(*file));

  // The tokenizer, when the folder has its files: GPT-2's byte-level BPE,
  // BERT's WordPiece (lower-cased unless tokenizer_config.json says not).
  StringRef kind = *type == "gpt2" ? "byte_bpe" : "wordpiece";
  bool present = true;
  for (StringRef f : tokenizerFiles(kind)) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, f);
    present &= llvm::sys::fs::exists(p);
  }
  if (present) {
    spec->tokenizer.kind = kind.str();
    spec->tokenizer.directory = dir.str();
    spec->tokenizer.lowercase = kind == "wordpiece";
    llvm::SmallString<256> tc(dir);
    llvm::sys::path::append(tc, "tokenizer_config.json");
    spec->tokenizer.loc = fileLoc(ctx, tc);
    if (auto tcBuf = llvm::MemoryBuffer::getFile(tc, /*IsText=*/true)) {
      json config = json::parse((*tcBuf)->getBuffer().str(), nullptr,
                                /*allow_exceptions=*/false);
      if (config.is_discarded() || !config.is_object()) {
        emitError(fileLoc(ctx, tc)) << "malformed JSON";
        return failure();
      }
      auto lower = config.find("do_lower_case");
      if (lower != config.end()) {
        if (!lower->is_boolean()) {
          emitError(fileLoc(ctx, tc))
              << "key 'do_lower_case': expected true or false";
          return failure();
        }
        spec->tokenizer.lowercase = lower->get<bool>();
      }
    } else {
      spec->tokenizer.loc = fileLoc(ctx, dir);
    }
  }
  return spec;
}
