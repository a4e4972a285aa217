//===- HFFrontend.cpp - Hugging Face folders, one table row per family ----===//
//
// Part of tfmc. Maps a Hugging Face config.json onto a ModelSpec and the
// checkpoint's tensor names onto the architecture's parameters. Compiled with
// exceptions so that nlohmann::json errors are caught here.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Frontends.h"
#include "tfm/Support/Abi.h"
#include "tfm/Support/InputFile.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <nlohmann/json.hpp>

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;
using llvm::StringRef;
using json = nlohmann::json;

namespace {

//===----------------------------------------------------------------------===//
// Parameter names
//===----------------------------------------------------------------------===//

/// One row of an architecture's weight-name map: the stored name of a
/// parameter, with `{p}` for the checkpoint's prefix ("transformer.",
/// "bert.", or none), `{l}` for the layer index, `{e}` for the expert
/// index (mixture-of-experts parameters) and `{s}` for the stack
/// ("encoder" or "decoder").
struct NameRow {
  Param param;
  const char *pattern;
  /// Rows that apply to one stack only (-1: both; T5 names its stacks'
  /// sublayers differently) or only to plain (0) or gated (1) FFNs.
  int8_t stack = -1, gated = -1;
};

/// Where a group of ops comes from in the source model (op locations):
/// a part as WeightNaming::scope names it, and its source module.
struct ScopeRow {
  const char *part;
  const char *pattern;
};

/// How one architecture names things, as tables.
struct NameMap {
  ArrayRef<NameRow> names;
  ArrayRef<ScopeRow> scopes;
  const char *layerScope;  ///< a layer part without a row: {p}, {l}, {part}
  const char *globalScope; ///< a stack-level part without a row
  bool weightsInOut = false;
  bool fusedQKV = false;
  /// Rows shared with other architectures, searched after `names`.
  ArrayRef<NameRow> shared = {};
};

std::string substitute(StringRef pattern, StringRef prefix, int64_t layer,
                       StringRef part, int64_t expert = -1,
                       Stack stack = Stack::Decoder) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    StringRef rest = pattern.drop_front(i);
    if (rest.starts_with("{p}")) {
      out += prefix;
      i += 2;
    } else if (rest.starts_with("{l}")) {
      out += std::to_string(layer);
      i += 2;
    } else if (rest.starts_with("{s}")) {
      out += stack == Stack::Encoder ? "encoder" : "decoder";
      i += 2;
    } else if (rest.starts_with("{e}")) {
      out += std::to_string(expert);
      i += 2;
    } else if (rest.starts_with("{part}")) {
      out += part;
      i += 5;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

/// WeightNaming from a NameMap and the checkpoint's prefix.
class TableNaming final : public WeightNaming {
public:
  TableNaming(const NameMap &map, std::string prefix, bool gatedFFN = false)
      : map(map), prefix(std::move(prefix)), gatedFFN(gatedFFN) {}
  bool weightsInOut() const override { return map.weightsInOut; }
  bool fusedQKV() const override { return map.fusedQKV; }

  std::string name(Param p, Stack s, int64_t layer) const override {
    return expertName(p, s, layer, -1);
  }
  std::string expertName(Param p, Stack s, int64_t layer,
                         int64_t expert) const override {
    for (ArrayRef<NameRow> rows : {map.names, map.shared})
      for (const NameRow &r : rows)
        if (r.param == p && (r.stack < 0 || r.stack == int(s)) &&
            (r.gated < 0 || r.gated == int(gatedFFN)))
          return substitute(r.pattern, prefix, layer, "", expert, s);
    // The model builder asks only for what the configuration uses; a
    // missing row shows up as a missing weight with this name.
    return "<no stored name for parameter " + std::to_string(int(p)) + ">";
  }
  std::string scope(Stack s, int64_t layer, StringRef part) const override {
    for (const ScopeRow &r : map.scopes)
      if (part == r.part)
        return substitute(r.pattern, prefix, layer, part, -1, s);
    return substitute(layer < 0 ? map.globalScope : map.layerScope, prefix,
                      layer, part, -1, s);
  }

private:
  const NameMap &map;
  std::string prefix;
  bool gatedFFN;
};

// GPT-2: Conv1D weights stored [in, out], one fused c_attn projection.
const NameRow kGPT2Names[] = {
    {Param::TokenEmbedding, "{p}wte.weight"},
    {Param::PositionEmbedding, "{p}wpe.weight"},
    {Param::SelfQKVWeight, "{p}h.{l}.attn.c_attn.weight"},
    {Param::SelfQKVBias, "{p}h.{l}.attn.c_attn.bias"},
    {Param::SelfOutWeight, "{p}h.{l}.attn.c_proj.weight"},
    {Param::SelfOutBias, "{p}h.{l}.attn.c_proj.bias"},
    {Param::SelfNormWeight, "{p}h.{l}.ln_1.weight"},
    {Param::SelfNormBias, "{p}h.{l}.ln_1.bias"},
    {Param::FFNNormWeight, "{p}h.{l}.ln_2.weight"},
    {Param::FFNNormBias, "{p}h.{l}.ln_2.bias"},
    {Param::FFNInWeight, "{p}h.{l}.mlp.c_fc.weight"},
    {Param::FFNInBias, "{p}h.{l}.mlp.c_fc.bias"},
    {Param::FFNOutWeight, "{p}h.{l}.mlp.c_proj.weight"},
    {Param::FFNOutBias, "{p}h.{l}.mlp.c_proj.bias"},
    {Param::FinalNormWeight, "{p}ln_f.weight"},
    {Param::FinalNormBias, "{p}ln_f.bias"},
    {Param::LMHeadWeight, "lm_head.weight"},
};
const ScopeRow kGPT2Scopes[] = {
    {"embeddings", "{p}wte"},
    {"final_norm", "{p}ln_f"},
    {"self_attn", "{p}h.{l}.attn"},
    {"ffn", "{p}h.{l}.mlp"},
};
const NameMap kGPT2Map = {kGPT2Names, kGPT2Scopes,           "{p}h.{l}.{part}",
                          "{part}",   /*weightsInOut=*/true, /*fusedQKV=*/true};

// BERT: nn.Linear weights, separate query/key/value.
const NameRow kBertNames[] = {
    {Param::TokenEmbedding, "{p}embeddings.word_embeddings.weight"},
    {Param::PositionEmbedding, "{p}embeddings.position_embeddings.weight"},
    {Param::TokenTypeEmbedding, "{p}embeddings.token_type_embeddings.weight"},
    {Param::EmbeddingNormWeight, "{p}embeddings.LayerNorm.weight"},
    {Param::EmbeddingNormBias, "{p}embeddings.LayerNorm.bias"},
    {Param::SelfQWeight, "{p}encoder.layer.{l}.attention.self.query.weight"},
    {Param::SelfQBias, "{p}encoder.layer.{l}.attention.self.query.bias"},
    {Param::SelfKWeight, "{p}encoder.layer.{l}.attention.self.key.weight"},
    {Param::SelfKBias, "{p}encoder.layer.{l}.attention.self.key.bias"},
    {Param::SelfVWeight, "{p}encoder.layer.{l}.attention.self.value.weight"},
    {Param::SelfVBias, "{p}encoder.layer.{l}.attention.self.value.bias"},
    {Param::SelfOutWeight,
     "{p}encoder.layer.{l}.attention.output.dense.weight"},
    {Param::SelfOutBias, "{p}encoder.layer.{l}.attention.output.dense.bias"},
    {Param::SelfNormWeight,
     "{p}encoder.layer.{l}.attention.output.LayerNorm.weight"},
    {Param::SelfNormBias,
     "{p}encoder.layer.{l}.attention.output.LayerNorm.bias"},
    {Param::FFNInWeight, "{p}encoder.layer.{l}.intermediate.dense.weight"},
    {Param::FFNInBias, "{p}encoder.layer.{l}.intermediate.dense.bias"},
    {Param::FFNOutWeight, "{p}encoder.layer.{l}.output.dense.weight"},
    {Param::FFNOutBias, "{p}encoder.layer.{l}.output.dense.bias"},
    {Param::FFNNormWeight, "{p}encoder.layer.{l}.output.LayerNorm.weight"},
    {Param::FFNNormBias, "{p}encoder.layer.{l}.output.LayerNorm.bias"},
};
const ScopeRow kBertScopes[] = {
    {"self_attn", "{p}encoder.layer.{l}.attention"},
    {"ffn", "{p}encoder.layer.{l}.intermediate"},
};
const NameMap kBertMap = {kBertNames, kBertScopes,
                          "{p}encoder.layer.{l}.{part}", "{p}{part}"};

// ViT (ViTModel / ViTForImageClassification): a pre-LN BERT-like encoder
// over patch embeddings, a final LayerNorm, the pooler and the classifier.
const NameRow kViTNames[] = {
    {Param::PatchWeight, "{p}embeddings.patch_embeddings.projection.weight"},
    {Param::PatchBias, "{p}embeddings.patch_embeddings.projection.bias"},
    {Param::ClassToken, "{p}embeddings.cls_token"},
    {Param::PositionEmbedding, "{p}embeddings.position_embeddings"},
    {Param::SelfQWeight,
     "{p}encoder.layer.{l}.attention.attention.query.weight"},
    {Param::SelfQBias, "{p}encoder.layer.{l}.attention.attention.query.bias"},
    {Param::SelfKWeight, "{p}encoder.layer.{l}.attention.attention.key.weight"},
    {Param::SelfKBias, "{p}encoder.layer.{l}.attention.attention.key.bias"},
    {Param::SelfVWeight,
     "{p}encoder.layer.{l}.attention.attention.value.weight"},
    {Param::SelfVBias, "{p}encoder.layer.{l}.attention.attention.value.bias"},
    {Param::SelfOutWeight,
     "{p}encoder.layer.{l}.attention.output.dense.weight"},
    {Param::SelfOutBias, "{p}encoder.layer.{l}.attention.output.dense.bias"},
    {Param::SelfNormWeight, "{p}encoder.layer.{l}.layernorm_before.weight"},
    {Param::SelfNormBias, "{p}encoder.layer.{l}.layernorm_before.bias"},
    {Param::FFNNormWeight, "{p}encoder.layer.{l}.layernorm_after.weight"},
    {Param::FFNNormBias, "{p}encoder.layer.{l}.layernorm_after.bias"},
    {Param::FFNInWeight, "{p}encoder.layer.{l}.intermediate.dense.weight"},
    {Param::FFNInBias, "{p}encoder.layer.{l}.intermediate.dense.bias"},
    {Param::FFNOutWeight, "{p}encoder.layer.{l}.output.dense.weight"},
    {Param::FFNOutBias, "{p}encoder.layer.{l}.output.dense.bias"},
    {Param::FinalNormWeight, "{p}layernorm.weight"},
    {Param::FinalNormBias, "{p}layernorm.bias"},
    {Param::PoolerWeight, "{p}pooler.dense.weight"},
    {Param::PoolerBias, "{p}pooler.dense.bias"},
    {Param::ClassifierWeight, "classifier.weight"},
    {Param::ClassifierBias, "classifier.bias"},
};
const ScopeRow kViTScopes[] = {
    {"embeddings", "{p}embeddings"},
    {"self_attn", "{p}encoder.layer.{l}.attention"},
    {"ffn", "{p}encoder.layer.{l}.intermediate"},
    {"final_norm", "{p}layernorm"},
    {"pooler", "{p}pooler"},
    {"classifier", "classifier"},
};
const NameMap kViTMap = {kViTNames, kViTScopes, "{p}encoder.layer.{l}.{part}",
                         "{p}{part}"};

// The Llama-style checkpoints (Llama, Mistral, Qwen2, Gemma, Phi) share the
// embedding, q/k/v projection and input norm names.
const NameRow kDecoderLayerNames[] = {
    {Param::TokenEmbedding, "{p}embed_tokens.weight"},
    {Param::SelfQWeight, "{p}layers.{l}.self_attn.q_proj.weight"},
    {Param::SelfQBias, "{p}layers.{l}.self_attn.q_proj.bias"},
    {Param::SelfKWeight, "{p}layers.{l}.self_attn.k_proj.weight"},
    {Param::SelfKBias, "{p}layers.{l}.self_attn.k_proj.bias"},
    {Param::SelfVWeight, "{p}layers.{l}.self_attn.v_proj.weight"},
    {Param::SelfVBias, "{p}layers.{l}.self_attn.v_proj.bias"},
    {Param::SelfNormWeight, "{p}layers.{l}.input_layernorm.weight"},
    {Param::LMHeadWeight, "lm_head.weight"},
};

// Llama (LlamaForCausalLM / LlamaModel): nn.Linear weights, separate
// q/k/v projections, gated MLP, RMSNorm, rotary positions.
const NameRow kLlamaNames[] = {
    {Param::SelfOutWeight, "{p}layers.{l}.self_attn.o_proj.weight"},
    {Param::SelfOutBias, "{p}layers.{l}.self_attn.o_proj.bias"},
    {Param::FFNNormWeight, "{p}layers.{l}.post_attention_layernorm.weight"},
    {Param::FFNGateWeight, "{p}layers.{l}.mlp.gate_proj.weight"},
    {Param::FFNInWeight, "{p}layers.{l}.mlp.up_proj.weight"},
    {Param::FFNOutWeight, "{p}layers.{l}.mlp.down_proj.weight"},
    {Param::FinalNormWeight, "{p}norm.weight"},
};
const ScopeRow kLlamaScopes[] = {
    {"embeddings", "{p}embed_tokens"},
    {"final_norm", "{p}norm"},
    {"self_attn", "{p}layers.{l}.self_attn"},
    {"ffn", "{p}layers.{l}.mlp"},
};
const NameMap kLlamaMap = {
    kLlamaNames, kLlamaScopes, "{p}layers.{l}.{part}", "{part}",
    false,       false,        kDecoderLayerNames};

// Phi (PhiForCausalLM): one LayerNorm per layer feeding attention and MLP
// in parallel, biases everywhere, the attention output called `dense`.
const NameRow kPhiNames[] = {
    {Param::SelfOutWeight, "{p}layers.{l}.self_attn.dense.weight"},
    {Param::SelfOutBias, "{p}layers.{l}.self_attn.dense.bias"},
    {Param::SelfNormBias, "{p}layers.{l}.input_layernorm.bias"},
    {Param::FFNInWeight, "{p}layers.{l}.mlp.fc1.weight"},
    {Param::FFNInBias, "{p}layers.{l}.mlp.fc1.bias"},
    {Param::FFNOutWeight, "{p}layers.{l}.mlp.fc2.weight"},
    {Param::FFNOutBias, "{p}layers.{l}.mlp.fc2.bias"},
    {Param::FinalNormWeight, "{p}final_layernorm.weight"},
    {Param::FinalNormBias, "{p}final_layernorm.bias"},
    {Param::LMHeadBias, "lm_head.bias"},
};
const ScopeRow kPhiScopes[] = {
    {"embeddings", "{p}embed_tokens"},
    {"final_norm", "{p}final_layernorm"},
    {"self_attn", "{p}layers.{l}.self_attn"},
    {"ffn", "{p}layers.{l}.mlp"},
};
// Mixtral (MixtralForCausalLM): Mistral's attention and norms, a sparse
// mixture of gated experts (w1 gate, w3 up, w2 down) with a router `gate`
// in place of the MLP.
const NameRow kMixtralNames[] = {
    {Param::SelfOutWeight, "{p}layers.{l}.self_attn.o_proj.weight"},
    {Param::FFNNormWeight, "{p}layers.{l}.post_attention_layernorm.weight"},
    {Param::RouterWeight, "{p}layers.{l}.block_sparse_moe.gate.weight"},
    {Param::ExpertGateWeight,
     "{p}layers.{l}.block_sparse_moe.experts.{e}.w1.weight"},
    {Param::ExpertUpWeight,
     "{p}layers.{l}.block_sparse_moe.experts.{e}.w3.weight"},
    {Param::ExpertDownWeight,
     "{p}layers.{l}.block_sparse_moe.experts.{e}.w2.weight"},
    {Param::FinalNormWeight, "{p}norm.weight"},
};
const ScopeRow kMixtralScopes[] = {
    {"embeddings", "{p}embed_tokens"},
    {"final_norm", "{p}norm"},
    {"self_attn", "{p}layers.{l}.self_attn"},
    {"moe", "{p}layers.{l}.block_sparse_moe"},
};
const NameMap kMixtralMap = {
    kMixtralNames, kMixtralScopes, "{p}layers.{l}.{part}", "{part}",
    false,         false,          kDecoderLayerNames};

// T5 (T5ForConditionalGeneration): both stacks as blocks of numbered
// sublayers (self-attention 0; the decoder's cross-attention 1; the FFN
// last), one relative bias table per stack in its first block, a shared
// token embedding; relu (wi) or gated (wi_0 gate, wi_1 up) FFNs.
constexpr int8_t kEnc = int8_t(Stack::Encoder), kDec = int8_t(Stack::Decoder);
const NameRow kT5Names[] = {
    {Param::TokenEmbedding, "shared.weight"},
    {Param::SelfQWeight, "{s}.block.{l}.layer.0.SelfAttention.q.weight"},
    {Param::SelfKWeight, "{s}.block.{l}.layer.0.SelfAttention.k.weight"},
    {Param::SelfVWeight, "{s}.block.{l}.layer.0.SelfAttention.v.weight"},
    {Param::SelfOutWeight, "{s}.block.{l}.layer.0.SelfAttention.o.weight"},
    {Param::SelfNormWeight, "{s}.block.{l}.layer.0.layer_norm.weight"},
    {Param::RelativeBiasTable,
     "{s}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"},
    {Param::CrossQWeight, "decoder.block.{l}.layer.1.EncDecAttention.q.weight"},
    {Param::CrossKWeight, "decoder.block.{l}.layer.1.EncDecAttention.k.weight"},
    {Param::CrossVWeight, "decoder.block.{l}.layer.1.EncDecAttention.v.weight"},
    {Param::CrossOutWeight,
     "decoder.block.{l}.layer.1.EncDecAttention.o.weight"},
    {Param::CrossNormWeight, "decoder.block.{l}.layer.1.layer_norm.weight"},
    {Param::FFNInWeight, "encoder.block.{l}.layer.1.DenseReluDense.wi.weight",
     kEnc, 0},
    {Param::FFNInWeight, "decoder.block.{l}.layer.2.DenseReluDense.wi.weight",
     kDec, 0},
    {Param::FFNInWeight, "encoder.block.{l}.layer.1.DenseReluDense.wi_1.weight",
     kEnc, 1},
    {Param::FFNInWeight, "decoder.block.{l}.layer.2.DenseReluDense.wi_1.weight",
     kDec, 1},
    {Param::FFNGateWeight,
     "encoder.block.{l}.layer.1.DenseReluDense.wi_0.weight", kEnc},
    {Param::FFNGateWeight,
     "decoder.block.{l}.layer.2.DenseReluDense.wi_0.weight", kDec},
    {Param::FFNOutWeight, "encoder.block.{l}.layer.1.DenseReluDense.wo.weight",
     kEnc},
    {Param::FFNOutWeight, "decoder.block.{l}.layer.2.DenseReluDense.wo.weight",
     kDec},
    {Param::FFNNormWeight, "encoder.block.{l}.layer.1.layer_norm.weight", kEnc},
    {Param::FFNNormWeight, "decoder.block.{l}.layer.2.layer_norm.weight", kDec},
    {Param::FinalNormWeight, "{s}.final_layer_norm.weight"},
    {Param::LMHeadWeight, "lm_head.weight"},
};
const ScopeRow kT5Scopes[] = {
    {"embeddings", "shared"},
    {"final_norm", "{s}.final_layer_norm"},
    {"self_attn", "{s}.block.{l}.layer.0"},
    {"cross_attn", "decoder.block.{l}.layer.1"},
    {"ffn", "{s}.block.{l}.DenseReluDense"},
    {"lm_head", "lm_head"},
};
const NameMap kT5Map = {kT5Names, kT5Scopes, "{s}.block.{l}.{part}", "{part}"};

const NameMap kPhiMap = {kPhiNames,         kPhiScopes, "{p}layers.{l}.{part}",
                         "{part}",          false,      false,
                         kDecoderLayerNames};

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
  /// The key is given as null (which can differ from its default).
  bool isNull(StringRef key) const {
    return cfg.contains(key.str()) && cfg[key.str()].is_null();
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

  /// The key's JSON value (null when absent).
  const json *raw(StringRef key) const {
    return has(key) ? &cfg[key.str()] : nullptr;
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

  /// rope_scaling as transformers 4.38 reads it: {"type": "linear" |
  /// "dynamic", "factor": a float > 1}. Linear divides the positions by the
  /// factor. Dynamic NTK scaling changes theta only for sequences longer
  /// than max_position_embeddings, which the model never accepts, so
  /// within its positions the result is exactly the unscaled one.
  void ropeScaling(ModelSpec &s) {
    if (!has("rope_scaling"))
      return;
    const json &v = cfg["rope_scaling"];
    auto type = v.is_object() ? v.find("type") : v.end();
    auto factor = v.is_object() ? v.find("factor") : v.end();
    if (!v.is_object() || v.size() != 2 || type == v.end() ||
        factor == v.end() || !type->is_string()) {
      error("rope_scaling")
          << "expected {\"type\": \"linear\" or \"dynamic\", \"factor\": a "
             "number > 1}";
      return;
    }
    std::string t = type->get<std::string>();
    if (t != "linear" && t != "dynamic") {
      error("rope_scaling") << "unsupported scaling type '" << t
                            << "' (tfmc supports linear and dynamic)";
      return;
    }
    if (!factor->is_number_float() || !(factor->get<double>() > 1.0)) {
      error("rope_scaling") << "factor must be a float greater than 1";
      return;
    }
    if (t == "linear")
      s.positions.rotaryScaling = factor->get<double>();
  }

  bool failed = false;

private:
  MLIRContext &ctx;
  StringRef path, text;
  const json &cfg;
};

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

/// GPT-2: pre-LN with a final ln_f, learned positions, tanh GELU.
void configureGPT2(ConfigReader &r, ModelSpec &s) {
  s.family = Family::Decoder;
  s.dModel = r.integer("n_embd");
  s.attention.numHeads = r.integer("n_head");
  s.decoder.layers = r.integer("n_layer");
  s.embedding.vocabSize = r.integer("vocab_size");
  s.maxSeqLen = r.integer("n_positions");
  s.ffn.dFF = r.has("n_inner") ? r.integer("n_inner") : 4 * s.dModel;
  s.ffn.activation = r.activation("activation_function", "gelu_new");
  s.norm.eps = r.number("layer_norm_epsilon", 1e-5);
  s.norm.kind = NormKind::LayerNorm;
  s.norm.placement = NormPlacement::Pre;
  s.norm.final = true;
  s.positions.kind = PositionKind::Learned;
  s.head.tied = r.boolean("tie_word_embeddings", true);
  r.require("scale_attn_weights", true);
  r.require("scale_attn_by_inverse_layer_idx", false);
  r.require("add_cross_attention", false);
}

/// BERT: post-LN, word + token-type + position embeddings with a norm,
/// erf GELU, a padding mask.
void configureBert(ConfigReader &r, ModelSpec &s) {
  s.family = Family::Encoder;
  s.dModel = r.integer("hidden_size");
  s.attention.numHeads = r.integer("num_attention_heads");
  s.encoder.layers = r.integer("num_hidden_layers");
  s.ffn.dFF = r.integer("intermediate_size");
  s.embedding.vocabSize = r.integer("vocab_size");
  s.maxSeqLen = r.integer("max_position_embeddings");
  s.embedding.typeVocabSize = r.integer("type_vocab_size", 2);
  s.ffn.activation = r.activation("hidden_act", "gelu");
  s.norm.eps = r.number("layer_norm_eps", 1e-12);
  s.norm.kind = NormKind::LayerNorm;
  s.norm.placement = NormPlacement::Post;
  s.positions.kind = PositionKind::Learned;
  s.embedding.norm = true;
  s.paddingMask = true;
  if (std::optional<std::string> pe = r.string("position_embedding_type");
      pe && *pe != "absolute")
    r.error("position_embedding_type")
        << "tfmc supports only 'absolute' positions, got '" << *pe << "'";
  r.require("is_decoder", false);
  r.require("add_cross_attention", false);
}

/// ViT (transformers 4.38 ViTConfig's defaults): pre-LN encoder layers with
/// erf GELU and a final LayerNorm over the class token and the patch
/// tokens; pixel_values of a fixed image size. The pooler and the
/// classifier are there when the checkpoint has their weights.
void configureViT(ConfigReader &r, ModelSpec &s) {
  auto size = [&](StringRef key, int64_t dflt) {
    int64_t v = r.integer(key, dflt);
    if (r.has(key) && v <= 0)
      r.error(key) << "must be positive, got " << v;
    return v;
  };
  s.family = Family::Encoder;
  s.dModel = size("hidden_size", 768);
  s.encoder.layers = size("num_hidden_layers", 12);
  s.attention.numHeads = size("num_attention_heads", 12);
  s.ffn.dFF = size("intermediate_size", 3072);
  s.ffn.activation = r.activation("hidden_act", "gelu");
  s.norm.eps = r.number("layer_norm_eps", 1e-12);
  s.norm.kind = NormKind::LayerNorm;
  s.norm.placement = NormPlacement::Pre;
  s.norm.final = true;
  s.positions.kind = PositionKind::None; // added to the patch embeddings
  s.attention.bias = r.boolean("qkv_bias", true);
  VisionConfig &v = s.vision;
  v.imageSize = size("image_size", 224);
  v.patchSize = size("patch_size", 16);
  v.channels = size("num_channels", 3);
  if (v.patchSize > 0 && v.imageSize % v.patchSize != 0)
    r.error("patch_size") << "the image size " << v.imageSize
                          << " is not a multiple of the patch size "
                          << v.patchSize;
  if (v.patchSize > 0)
    s.maxSeqLen = v.patches() + 1;
}

/// The defaults transformers 4.38's config class of a Llama-style family
/// gives the keys a config.json may omit, and what differs between them.
struct LlamaLikeDefaults {
  int64_t hiddenSize, intermediateSize, layers, heads;
  int64_t kvHeads; ///< 0: the number of query heads
  int64_t vocabSize, maxPositions;
  int64_t headDim; ///< 0: hidden_size / num_attention_heads, no key
  /// The eager attention's sliding window (0: none): Mistral and Qwen2
  /// mask keys more than `sliding_window` positions back.
  int64_t slidingWindow;
  bool qkvBias, outBias; ///< fixed by the family (Qwen2: q/k/v only)
  bool biasKey;          ///< `attention_bias` may override both (Llama)
  /// A `sliding_window` key is read even though the default is none
  /// (Mixtral).
  bool slidingKey = false;
};

/// Pre-RMSNorm decoders with grouped-query attention, rotary positions
/// (rotate half, theta rope_theta), a gated SiLU MLP without biases and an
/// untied LM head: Llama, Mistral, Qwen2.
void configureLlamaLike(ConfigReader &r, ModelSpec &s,
                        const LlamaLikeDefaults &d) {
  // Sizes with the config class's defaults, positive when given.
  auto size = [&](StringRef key, int64_t dflt) {
    int64_t v = r.integer(key, dflt);
    if (r.has(key) && v <= 0)
      r.error(key) << "must be positive, got " << v;
    return v;
  };
  s.family = Family::Decoder;
  // forward takes attention_mask (a padded batch), as the modeling classes
  // do; positions stay 0, 1, ... as theirs without position_ids.
  s.paddingMask = true;
  s.dModel = size("hidden_size", d.hiddenSize);
  s.attention.numHeads = size("num_attention_heads", d.heads);
  s.attention.numKVHeads =
      size("num_key_value_heads", d.kvHeads ? d.kvHeads : s.attention.numHeads);
  s.decoder.layers = size("num_hidden_layers", d.layers);
  s.ffn.dFF = size("intermediate_size", d.intermediateSize);
  s.embedding.vocabSize = size("vocab_size", d.vocabSize);
  s.maxSeqLen = size("max_position_embeddings", d.maxPositions);
  if (d.headDim)
    s.attention.headDim = size("head_dim", d.headDim);
  // transformers' eager attention masks keys beyond the sliding window
  // (in 4.38 whenever sliding_window is set, whatever use_sliding_window
  // says): query p sees keys p - W < j <= p, in prefill and decode alike
  // (the cache keeps every position).
  if ((d.slidingWindow || d.slidingKey) && !r.isNull("sliding_window")) {
    int64_t w =
        r.has("sliding_window") ? size("sliding_window", 0) : d.slidingWindow;
    if (w > 0 && w < s.maxSeqLen)
      s.attention.slidingWindow = w;
  }
  s.ffn.activation = r.activation("hidden_act", "silu");
  s.ffn.gated = true;
  s.ffn.bias = false;
  s.norm.eps = r.number("rms_norm_eps", 1e-6);
  s.norm.kind = NormKind::RMSNorm;
  s.norm.placement = NormPlacement::Pre;
  s.norm.final = true;
  s.positions.kind = PositionKind::Rotary;
  s.positions.base = r.number("rope_theta", 10000.0);
  if (!(s.positions.base > 1.0))
    r.error("rope_theta") << "must be greater than 1";
  r.ropeScaling(s);
  s.attention.bias = d.qkvBias;
  s.attention.outBias = d.outBias;
  if (d.biasKey)
    s.attention.bias = s.attention.outBias =
        r.boolean("attention_bias", d.qkvBias);
  s.head.tied = r.boolean("tie_word_embeddings", false);
}

void configureLlama(ConfigReader &r, ModelSpec &s) {
  configureLlamaLike(r, s,
                     {4096, 11008, 32, 32, 0, 32000, 2048, 0, 0, false, false,
                      /*biasKey=*/true});
}
/// Gemma: Llama-like with its own head_dim (not hidden / heads), RMSNorm
/// scaling by (1 + weight), embeddings multiplied by sqrt(hidden_size), a
/// tied head and GemmaConfig's defaults (hidden_act "gelu", the erf form,
/// in transformers 4.38).
void configureGemma(ConfigReader &r, ModelSpec &s) {
  configureLlamaLike(r, s,
                     {3072, 24576, 28, 16, 16, 256000, 8192, 256, 0, false,
                      false, /*biasKey=*/true});
  s.ffn.activation = r.activation("hidden_act", "gelu");
  s.norm.unitOffset = true;
  s.embedding.scale = true;
  s.head.tied = r.boolean("tie_word_embeddings", true);
}
/// Phi (transformers 4.38 PhiConfig): parallel attention and MLP from one
/// LayerNorm, rotary positions on int(partial_rotary_factor * head_dim)
/// features of each head, tanh GELU MLP, biases on every projection and
/// on the untied LM head.
void configurePhi(ConfigReader &r, ModelSpec &s) {
  configureLlamaLike(r, s,
                     {2048, 8192, 24, 32, 0, 51200, 2048, 0, 0, true, true,
                      /*biasKey=*/false});
  s.ffn.gated = false;
  s.ffn.bias = true;
  s.ffn.activation = r.activation("hidden_act", "gelu_new");
  s.norm.kind = NormKind::LayerNorm;
  s.norm.placement = NormPlacement::Parallel;
  s.norm.eps = r.number("layer_norm_eps", 1e-5);
  s.head.bias = true;
  r.require("qk_layernorm", false);
  double factor = r.number("partial_rotary_factor", 0.5);
  int64_t dh = s.attention.numHeads > 0 ? s.dModel / s.attention.numHeads : 0;
  // transformers: int(partial_rotary_factor * head_dim).
  int64_t rotary = static_cast<int64_t>(factor * static_cast<double>(dh));
  if (!(factor > 0.0 && factor <= 1.0) || rotary < 2 || rotary % 2 != 0)
    r.error("partial_rotary_factor")
        << "rotates " << rotary << " of " << dh
        << " features per head; it must be an even number of at least 2";
  else if (rotary != dh)
    s.positions.rotaryDim = rotary;
}
void configureMistral(ConfigReader &r, ModelSpec &s) {
  configureLlamaLike(r, s,
                     {4096, 14336, 32, 32, 8, 32000, 4096 * 32, 0, 4096, false,
                      false, /*biasKey=*/false});
}
/// Mixtral (transformers 4.38 MixtralConfig): Mistral with a sparse
/// mixture of num_local_experts gated SiLU experts in place of the MLP,
/// num_experts_per_tok chosen per token by a softmax over the router's
/// logits, renormalised over the chosen ones; its own defaults for
/// rms_norm_eps, rope_theta and (none) sliding_window.
void configureMixtral(ConfigReader &r, ModelSpec &s) {
  configureLlamaLike(r, s,
                     {4096, 14336, 32, 32, 8, 32000, 4096 * 32, 0, 0, false,
                      false, /*biasKey=*/false, /*slidingKey=*/true});
  s.norm.eps = r.number("rms_norm_eps", 1e-5);
  if (!r.has("rope_theta"))
    s.positions.base = 1e6;
  s.moe.experts = r.integer("num_local_experts", 8);
  s.moe.topK = r.integer("num_experts_per_tok", 2);
  s.moe.topkSoftmax = true;
  if (r.has("num_local_experts") && s.moe.experts <= 0)
    r.error("num_local_experts") << "must be positive, got " << s.moe.experts;
  else if (s.moe.topK <= 0 || s.moe.topK > s.moe.experts)
    r.error("num_experts_per_tok")
        << "must be between 1 and num_local_experts = " << s.moe.experts
        << ", got " << s.moe.topK;
}
/// T5 (transformers 4.38 T5Config): pre-RMSNorm encoder and decoder stacks
/// with final norms, d_kv features per head (not d_model / heads), no
/// biases and no 1/sqrt(d) scaling, relative position biases (bidirectional
/// buckets in the encoder, causal in the decoder), a relu or gated FFN
/// (feed_forward_proj "relu", "gated-gelu" -- tanh GELU, as T5Config maps
/// it --, "gated-silu", ...), the shared embedding as the tied head after a
/// d_model^-0.5 rescale, or an untied lm_head (v1.1, flan-T5).
void configureT5(ConfigReader &r, ModelSpec &s) {
  auto size = [&](StringRef key, int64_t dflt) {
    int64_t v = r.integer(key, dflt);
    if (r.has(key) && v <= 0)
      r.error(key) << "must be positive, got " << v;
    return v;
  };
  s.family = Family::EncoderDecoder;
  s.dModel = size("d_model", 512);
  s.attention.numHeads = size("num_heads", 8);
  s.attention.headDim = size("d_kv", 64);
  s.attention.bias = s.attention.outBias = false;
  s.attention.scaled = false;
  s.encoder.layers = size("num_layers", 6);
  s.decoder.layers = size("num_decoder_layers", s.encoder.layers);
  s.ffn.dFF = size("d_ff", 2048);
  s.ffn.bias = false;
  std::string proj = r.string("feed_forward_proj").value_or("relu");
  StringRef act = proj;
  if (act.consume_front("gated-"))
    s.ffn.gated = true;
  if (act == "relu")
    s.ffn.activation = Activation::ReLU;
  else if (act == "gelu")
    s.ffn.activation = s.ffn.gated ? Activation::GELUTanh : Activation::GELU;
  else if (act == "gelu_new" || act == "gelu_pytorch_tanh")
    s.ffn.activation = Activation::GELUTanh;
  else if (act == "silu" || act == "swish")
    s.ffn.activation = Activation::SiLU;
  else
    r.error("feed_forward_proj")
        << "unsupported '" << proj
        << "' (tfmc supports relu, gelu, gelu_new, silu, each optionally "
           "'gated-')";
  s.embedding.vocabSize = size("vocab_size", 32128);
  s.embedding.shared = true;
  s.norm.kind = NormKind::RMSNorm;
  s.norm.placement = NormPlacement::Pre;
  s.norm.final = true;
  s.norm.eps = r.number("layer_norm_epsilon", 1e-6);
  s.positions.kind = PositionKind::Relative;
  s.positions.relativeBuckets = size("relative_attention_num_buckets", 32);
  s.positions.relativeMaxDistance =
      size("relative_attention_max_distance", 128);
  int64_t exact = s.positions.relativeBuckets / 4;
  if (exact < 1)
    r.error("relative_attention_num_buckets")
        << "needs at least 4 buckets, got " << s.positions.relativeBuckets;
  else if (s.positions.relativeMaxDistance <= 2 * exact)
    r.error("relative_attention_max_distance")
        << "must exceed the " << 2 * exact
        << " exact distances of the decoder's buckets, got "
        << s.positions.relativeMaxDistance;
  s.paddingMask = true;
  s.head.tied = r.boolean("tie_word_embeddings", true);
  if (s.head.tied)
    s.head.scale = 1.0 / std::sqrt(static_cast<double>(s.dModel));
  // Relative positions have no table length; n_positions (older configs)
  // or 512 bounds the sequences.
  s.maxSeqLen = size("n_positions", 512);
  // Generation starts from decoder_start_token_id (the pad token, 0, when
  // the config does not say).
  s.bosId = r.integer("decoder_start_token_id", r.integer("pad_token_id", 0));
  r.require("is_decoder", false);
  r.require("add_cross_attention", false);
}
void configureQwen2(ConfigReader &r, ModelSpec &s) {
  configureLlamaLike(r, s,
                     {4096, 22016, 32, 32, 0, 151936, 32768, 0, 4096, true,
                      false,
                      /*biasKey=*/false});
}

/// One Hugging Face architecture: how its config.json maps onto blocks,
/// how its checkpoint names parameters, and its tokenizer. Adding a family
/// is adding a row (and, for new kinds of blocks, the blocks).
struct Architecture {
  const char *modelType;
  void (*configure)(ConfigReader &, ModelSpec &);
  const NameMap *names;
  /// Prefixes the checkpoint's names may carry (a task head's folder adds
  /// one), tried in order against the name of `probe`.
  ArrayRef<StringRef> prefixes;
  const char *headsKey;  ///< the config key blamed for a bad head count
  const char *tokenizer; ///< the kind of tokenizer files the folder may hold
  bool lowercase;        ///< its default (tokenizer_config.json overrides)
  Param probe = Param::TokenEmbedding;
};

const StringRef kGPT2Prefixes[] = {"transformer.", ""};
const StringRef kBertPrefixes[] = {"bert.", ""};
const StringRef kLlamaPrefixes[] = {"model.", ""};
const StringRef kViTPrefixes[] = {"vit.", ""};
const StringRef kT5Prefixes[] = {""};

const Architecture kArchitectures[] = {
    {"gpt2", configureGPT2, &kGPT2Map, kGPT2Prefixes, "n_head",
     TFMC_TOKENIZER_BYTE_BPE, false},
    {"bert", configureBert, &kBertMap, kBertPrefixes, "num_attention_heads",
     TFMC_TOKENIZER_WORDPIECE, true},
    {"llama", configureLlama, &kLlamaMap, kLlamaPrefixes, "num_attention_heads",
     TFMC_TOKENIZER_HF_JSON, false},
    {"gemma", configureGemma, &kLlamaMap, kLlamaPrefixes, "num_attention_heads",
     TFMC_TOKENIZER_HF_JSON, false},
    {"phi", configurePhi, &kPhiMap, kLlamaPrefixes, "num_attention_heads",
     TFMC_TOKENIZER_HF_JSON, false},
    {"mistral", configureMistral, &kLlamaMap, kLlamaPrefixes,
     "num_attention_heads", TFMC_TOKENIZER_HF_JSON, false},
    {"qwen2", configureQwen2, &kLlamaMap, kLlamaPrefixes, "num_attention_heads",
     TFMC_TOKENIZER_HF_JSON, false},
    {"mixtral", configureMixtral, &kMixtralMap, kLlamaPrefixes,
     "num_attention_heads", TFMC_TOKENIZER_HF_JSON, false},
    {"t5", configureT5, &kT5Map, kT5Prefixes, "num_heads",
     TFMC_TOKENIZER_HF_JSON, false},
    {"vit", configureViT, &kViTMap, kViTPrefixes, "num_attention_heads",
     nullptr, false, Param::PatchWeight},
};

const Architecture *lookupArchitecture(StringRef type) {
  for (const Architecture &a : kArchitectures)
    if (type == a.modelType)
      return &a;
  return nullptr;
}

/// The first of the architecture's prefixes the checkpoint's names use.
std::string detectPrefix(const WeightStore &store, const Architecture &a) {
  for (StringRef p : a.prefixes)
    if (store.shape(
            TableNaming(*a.names, p.str()).name(a.probe, Stack::Decoder, -1)))
      return p.str();
  return "";
}

/// A vision folder's preprocessor_config.json (ViTImageProcessor's keys
/// and defaults in transformers 4.38) and config.json's id2label.
LogicalResult readImagePreprocessing(MLIRContext &ctx,
                                     llvm::SourceMgr &sourceMgr, StringRef dir,
                                     ConfigReader &model, VisionConfig &v) {
  if (const json *labels = model.raw("id2label")) {
    if (!labels->is_object()) {
      model.error("id2label") << "expected an object of label names";
      return failure();
    }
    v.labels.assign(v.numLabels, "");
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      int64_t id = -1;
      if (StringRef(it.key()).getAsInteger(10, id) || id < 0 ||
          !it->is_string()) {
        model.error("id2label") << "expected \"<id>\": \"<name>\" pairs";
        return failure();
      }
      if (id < v.numLabels)
        v.labels[id] = it->get<std::string>();
    }
  }
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "preprocessor_config.json");
  if (!llvm::sys::fs::exists(path))
    return success(); // pixel_values only: images cannot be given
  auto buf = readInputFile(path, TFMC_MAX_CONFIG_FILE_BYTES);
  if (!buf) {
    emitError(fileLoc(ctx, path))
        << "cannot read: " << llvm::toString(buf.takeError());
    return failure();
  }
  std::string text = (*buf)->getBuffer().str();
  sourceMgr.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());
  if (std::string deep = checkJsonDepth(text); !deep.empty()) {
    emitError(fileLoc(ctx, path)) << deep;
    return failure();
  }
  json cfg = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object()) {
    emitError(fileLoc(ctx, path)) << "malformed JSON";
    return failure();
  }
  ConfigReader r(ctx, path, text, cfg);
  VisionConfig::Preprocessing &p = v.preprocessing;
  if (std::optional<std::string> type = r.string("image_processor_type");
      type && *type != "ViTImageProcessor" && *type != "ViTFeatureExtractor")
    r.error("image_processor_type")
        << "tfmc preprocesses images as ViTImageProcessor does, not as '"
        << *type << "'";
  p.resize = r.boolean("do_resize", true);
  p.height = p.width = 224;
  if (const json *size = r.raw("size")) {
    if (size->is_number_integer()) {
      p.height = p.width = size->get<int64_t>();
    } else if (size->is_object() && size->contains("height") &&
               size->contains("width") && (*size)["height"].is_number_integer() &&
               (*size)["width"].is_number_integer()) {
      p.height = (*size)["height"].get<int64_t>();
      p.width = (*size)["width"].get<int64_t>();
    } else {
      r.error("size") << "expected {\"height\": H, \"width\": W}";
    }
  }
  if (p.height != v.imageSize || p.width != v.imageSize)
    r.error("size") << p.height << "x" << p.width
                    << " differs from the model's image_size " << v.imageSize;
  if (r.integer("resample", 2) != 2)
    r.error("resample") << "tfmc resizes with PIL's bilinear filter only "
                           "(resample 2)";
  p.rescale = r.boolean("do_rescale", true);
  p.rescaleFactor = r.number("rescale_factor", 1.0 / 255.0);
  p.normalize = r.boolean("do_normalize", true);
  for (auto [key, out] : {std::pair<StringRef, std::vector<double> *>{
                              "image_mean", &p.mean},
                          {"image_std", &p.std}}) {
    out->assign(v.channels, 0.5);
    const json *vals = r.raw(key);
    if (!vals)
      continue;
    if (!vals->is_array() || int64_t(vals->size()) != v.channels) {
      r.error(key) << "expected " << v.channels << " numbers (one per channel)";
      continue;
    }
    for (size_t i = 0; i < vals->size(); ++i) {
      if (!(*vals)[i].is_number()) {
        r.error(key) << "expected numbers";
        break;
      }
      (*out)[i] = (*vals)[i].get<double>();
    }
    if (key == "image_std")
      for (double s : *out)
        if (!(s > 0)) {
          r.error(key) << "standard deviations must be positive";
          break;
        }
  }
  for (StringRef key : {"do_center_crop", "do_pad"})
    r.require(key, false);
  p.present = true;
  return failure(r.failed);
}

/// A sharded checkpoint: model.safetensors.index.json's weight_map names,
/// for every tensor, the shard file (in the model folder) that holds it.
/// Shards must be plain file names resolving inside the folder; every
/// tensor the map lists must be in its shard.
FailureOr<std::unique_ptr<WeightStore>>
openShards(MLIRContext &ctx, StringRef dir, StringRef indexPath) {
  auto fail = [&](const llvm::Twine &msg) {
    emitError(fileLoc(ctx, indexPath)) << msg;
    return failure();
  };
  auto buf = readInputFile(indexPath, TFMC_MAX_CONFIG_FILE_BYTES);
  if (!buf)
    return fail("cannot read the shard index: " +
                llvm::toString(buf.takeError()));
  if (std::string deep = checkJsonDepth((*buf)->getBuffer()); !deep.empty())
    return fail(deep);
  json index = json::parse((*buf)->getBuffer().str(), nullptr,
                           /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object())
    return fail("malformed JSON");
  auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object() || map->empty())
    return fail("expected a non-empty object 'weight_map' (tensor name -> "
                "shard file)");
  llvm::SmallString<256> realDir;
  if (llvm::sys::fs::real_path(dir, realDir))
    return fail("cannot resolve the model folder");
  std::vector<std::unique_ptr<SafetensorsFile>> shards;
  llvm::StringMap<unsigned> shardIndex, owner;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it->is_string())
      return fail("weight_map['" + it.key() + "']: expected a file name");
    std::string shard = it->get<std::string>();
    auto [slot, fresh] = shardIndex.try_emplace(shard, shards.size());
    if (fresh) {
      if (shard.empty() || shard == "." || shard == ".." ||
          shard.find_first_of("/\\") != std::string::npos)
        return fail("shard '" + shard +
                    "' must be a file name in the model folder");
      llvm::SmallString<256> path(dir), real;
      llvm::sys::path::append(path, shard);
      if (llvm::sys::fs::real_path(path, real))
        return fail("missing shard '" + shard + "'");
      if (llvm::sys::path::parent_path(real) != realDir)
        return fail("shard '" + shard + "' resolves outside the model folder");
      auto file = SafetensorsFile::open(path);
      if (!file) {
        emitError(fileLoc(ctx, path)) << llvm::toString(file.takeError());
        return failure();
      }
      shards.push_back(std::move(*file));
    }
    if (!shards[slot->second]->find(it.key()))
      return fail("weight_map lists '" + it.key() + "' in '" + shard +
                  "', which does not hold it");
    owner[it.key()] = slot->second;
  }
  return WeightStore::fromShards(std::move(shards), std::move(owner),
                                 indexPath.str());
}

} // namespace

FailureOr<std::unique_ptr<ModelSpec>>
mlir::tfm::parseHFModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
                        StringRef dir, std::unique_ptr<WeightStore> &weights) {
  llvm::SmallString<256> cfgPath(dir), stPath(dir);
  llvm::sys::path::append(cfgPath, "config.json");
  llvm::sys::path::append(stPath, "model.safetensors");
  auto buf = readInputFile(cfgPath, TFMC_MAX_CONFIG_FILE_BYTES);
  if (!buf) {
    emitError(fileLoc(ctx, dir))
        << "not a Hugging Face model folder: cannot read config.json ("
        << llvm::toString(buf.takeError()) << ")";
    return failure();
  }
  if (std::string deep = checkJsonDepth((*buf)->getBuffer()); !deep.empty()) {
    emitError(fileLoc(ctx, cfgPath)) << deep;
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
  } catch (const json::exception &e) {
    // A value the parser cannot hold (out_of_range: a number too large).
    emitError(fileLoc(ctx, cfgPath)) << "malformed JSON: " << e.what();
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
  const Architecture *arch = lookupArchitecture(*type);
  if (!arch) {
    auto diag = r.error("model_type");
    diag << "unsupported model type '" << *type << "' (tfmc reads ";
    size_t n = std::size(kArchitectures);
    for (size_t i = 0; i < n; ++i)
      diag << (i == 0       ? ""
               : i + 1 == n ? " and "
                            : ", ")
           << "'" << kArchitectures[i].modelType << "'";
    diag << " folders)";
    return failure();
  }

  // Weights first: the naming depends on the checkpoint's prefixes. One
  // model.safetensors, or shards listed by model.safetensors.index.json.
  llvm::SmallString<256> indexPath(dir);
  llvm::sys::path::append(indexPath, "model.safetensors.index.json");
  std::unique_ptr<WeightStore> store;
  if (llvm::sys::fs::exists(stPath)) {
    auto file = SafetensorsFile::open(stPath);
    if (!file) {
      emitError(fileLoc(ctx, stPath)) << llvm::toString(file.takeError());
      return failure();
    }
    store = WeightStore::fromSafetensors(std::move(*file));
  } else if (llvm::sys::fs::exists(indexPath)) {
    FailureOr<std::unique_ptr<WeightStore>> shards =
        openShards(ctx, dir, indexPath);
    if (failed(shards))
      return failure();
    store = std::move(*shards);
  } else {
    llvm::SmallString<256> bin(dir);
    llvm::sys::path::append(bin, "pytorch_model.bin");
    emitError(fileLoc(ctx, stPath))
        << "missing model.safetensors (or model.safetensors.index.json)"
        << (llvm::sys::fs::exists(bin)
                ? " (only safetensors checkpoints are read; re-save the "
                  "model with safe_serialization=True)"
                : "");
    return failure();
  }

  auto spec = std::make_unique<ModelSpec>(fileLoc(ctx, cfgPath));
  spec->encoder.loc = spec->decoder.loc = fileLoc(ctx, store->describe());
  arch->configure(r, *spec);
  spec->naming = std::make_unique<TableNaming>(
      *arch->names, detectPrefix(*store, *arch), spec->ffn.gated);
  if (r.failed)
    return failure();
  // A vision checkpoint's heads: as its weights say (ViTModel has the
  // pooler, ViTForImageClassification the classifier).
  if (spec->vision.enabled()) {
    VisionConfig &v = spec->vision;
    v.pooler = store->shape(spec->naming->name(Param::PoolerWeight,
                                               Stack::Encoder, -1))
                   .has_value();
    if (auto cls = store->shape(spec->naming->name(Param::ClassifierWeight,
                                                   Stack::Encoder, -1));
        cls && cls->size() == 2)
      v.numLabels = (*cls)[0];
    if (failed(readImagePreprocessing(ctx, sourceMgr, dir, r, v)))
      return failure();
  }
  const AttentionConfig &att = spec->attention;
  if (!att.headDim && spec->dModel % att.numHeads != 0) {
    r.error(arch->headsKey)
        << spec->dModel << " features are not divisible into " << att.numHeads
        << " heads";
    return failure();
  }
  if (att.numHeads % att.kvHeads() != 0) {
    r.error("num_key_value_heads")
        << att.numHeads << " query heads are not divisible into "
        << att.kvHeads() << " key/value heads";
    return failure();
  }
  for (auto [key, field] :
       {std::pair<StringRef, int64_t *>{"pad_token_id", &spec->padId},
        {"bos_token_id", &spec->bosId},
        {"eos_token_id", &spec->eosId}}) {
    // HF configs often carry ids of the full tokenizer; keep those in range.
    if (r.has(key) && cfg[key.str()].is_number_integer()) {
      int64_t id = cfg[key.str()].get<int64_t>();
      if (id >= 0 && id < spec->embedding.vocabSize)
        *field = id;
    }
  }
  spec->seqLen = spec->targetSeqLen = ModelSpec::kDynamicLength;
  weights = std::move(store);

  // The tokenizer, when the folder has its files (GPT-2's byte-level BPE,
  // BERT's WordPiece, lower-cased unless tokenizer_config.json says not,
  // tokenizer.json for the Llama-style families).
  StringRef kind = arch->tokenizer ? arch->tokenizer : "";
  bool present = !kind.empty();
  for (StringRef f : tokenizerFiles(kind)) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, f);
    present &= llvm::sys::fs::exists(p);
  }
  if (present) {
    spec->tokenizer.kind = kind.str();
    spec->tokenizer.directory = dir.str();
    spec->tokenizer.lowercase = arch->lowercase;
    llvm::SmallString<256> tc(dir);
    llvm::sys::path::append(tc, "tokenizer_config.json");
    spec->tokenizer.loc = fileLoc(ctx, tc);
    if (llvm::sys::fs::exists(tc)) {
      auto tcBuf = readInputFile(tc, TFMC_MAX_CONFIG_FILE_BYTES);
      if (!tcBuf) {
        emitError(fileLoc(ctx, tc))
            << "cannot read: " << llvm::toString(tcBuf.takeError());
        return failure();
      }
      if (std::string deep = checkJsonDepth((*tcBuf)->getBuffer());
          !deep.empty()) {
        emitError(fileLoc(ctx, tc)) << deep;
        return failure();
      }
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
