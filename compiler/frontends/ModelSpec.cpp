//===- ModelSpec.cpp - architecture description shared by frontends -------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/ModelSpec.h"

#include "llvm/ADT/Twine.h"

using namespace mlir::tfm;

llvm::StringRef mlir::tfm::stringify(Family f) {
  switch (f) {
  case Family::Encoder: return "encoder";
  case Family::Decoder: return "decoder";
  case Family::EncoderDecoder: return "encoder-decoder";
  }
  llvm_unreachable("unknown family");
}

llvm::StringRef mlir::tfm::stringify(Activation a) {
  switch (a) {
  case Activation::ReLU: return "relu";
  case Activation::GELU: return "gelu";
  case Activation::GELUTanh: return "gelu_tanh";
  case Activation::SiLU: return "silu";
  }
  llvm_unreachable("unknown activation");
}

namespace {
/// tfmc's canonical parameter names (docs/model-format.md).
class CanonicalNaming final : public WeightNaming {
public:
  CanonicalNaming(bool encoderDecoder, bool shared)
      : encoderDecoder(encoderDecoder), shared(shared) {}

  std::string name(Param p, Stack s, int64_t layer) const override {
    std::string stack =
        encoderDecoder ? (s == Stack::Encoder ? "encoder." : "decoder.") : "";
    std::string l = stack + "layers." + std::to_string(layer) + ".";
    switch (p) {
    case Param::TokenEmbedding:
      return (encoderDecoder && shared ? "" : stack) + "embed_tokens.weight";
    case Param::PositionEmbedding: return stack + "embed_positions.weight";
    case Param::TokenTypeEmbedding: return stack + "embed_token_types.weight";
    case Param::EmbeddingNormWeight: return stack + "embed_norm.weight";
    case Param::EmbeddingNormBias: return stack + "embed_norm.bias";
    case Param::SelfQWeight: return l + "self_attn.q_proj.weight";
    case Param::SelfQBias: return l + "self_attn.q_proj.bias";
    case Param::SelfKWeight: return l + "self_attn.k_proj.weight";
    case Param::SelfKBias: return l + "self_attn.k_proj.bias";
    case Param::SelfVWeight: return l + "self_attn.v_proj.weight";
    case Param::SelfVBias: return l + "self_attn.v_proj.bias";
    case Param::SelfQKVWeight: return l + "self_attn.qkv_proj.weight";
    case Param::SelfQKVBias: return l + "self_attn.qkv_proj.bias";
    case Param::SelfOutWeight: return l + "self_attn.o_proj.weight";
    case Param::SelfOutBias: return l + "self_attn.o_proj.bias";
    case Param::SelfNormWeight: return l + "self_attn_norm.weight";
    case Param::SelfNormBias: return l + "self_attn_norm.bias";
    case Param::CrossQWeight: return l + "cross_attn.q_proj.weight";
    case Param::CrossQBias: return l + "cross_attn.q_proj.bias";
    case Param::CrossKWeight: return l + "cross_attn.k_proj.weight";
    case Param::CrossKBias: return l + "cross_attn.k_proj.bias";
    case Param::CrossVWeight: return l + "cross_attn.v_proj.weight";
    case Param::CrossVBias: return l + "cross_attn.v_proj.bias";
    case Param::CrossOutWeight: return l + "cross_attn.o_proj.weight";
    case Param::CrossOutBias: return l + "cross_attn.o_proj.bias";
    case Param::CrossNormWeight: return l + "cross_attn_norm.weight";
    case Param::CrossNormBias: return l + "cross_attn_norm.bias";
    case Param::FFNInWeight: return l + "ffn.fc1.weight";
    case Param::FFNInBias: return l + "ffn.fc1.bias";
    case Param::FFNGateWeight: return l + "ffn.gate.weight";
    case Param::FFNGateBias: return l + "ffn.gate.bias";
    case Param::FFNOutWeight: return l + "ffn.fc2.weight";
    case Param::FFNOutBias: return l + "ffn.fc2.bias";
    case Param::FFNNormWeight: return l + "ffn_norm.weight";
    case Param::FFNNormBias: return l + "ffn_norm.bias";
    case Param::FinalNormWeight: return stack + "final_norm.weight";
    case Param::FinalNormBias: return stack + "final_norm.bias";
    case Param::LMHeadWeight: return "lm_head.weight";
    case Param::LMHeadBias: return "lm_head.bias";
    case Param::PatchWeight: return "patch_embed.weight";
    case Param::PatchBias: return "patch_embed.bias";
    case Param::ClassToken: return "class_token";
    case Param::PoolerWeight: return "pooler.weight";
    case Param::PoolerBias: return "pooler.bias";
    case Param::ClassifierWeight: return "classifier.weight";
    case Param::ClassifierBias: return "classifier.bias";
    case Param::RouterWeight: return l + "moe.router.weight";
    case Param::ExpertGateWeight:
    case Param::ExpertUpWeight:
    case Param::ExpertDownWeight:
      break; // expertName
    case Param::RelativeBiasTable:
      return stack + "relative_attention_bias.weight";
    }
    return "<parameter " + std::to_string(int(p)) + " is per expert>";
  }

  std::string expertName(Param p, Stack s, int64_t layer,
                         int64_t expert) const override {
    std::string stack =
        encoderDecoder ? (s == Stack::Encoder ? "encoder." : "decoder.") : "";
    std::string e = stack + "layers." + std::to_string(layer) +
                    ".moe.experts." + std::to_string(expert) + ".";
    switch (p) {
    case Param::ExpertGateWeight: return e + "gate.weight";
    case Param::ExpertUpWeight: return e + "fc1.weight";
    case Param::ExpertDownWeight: return e + "fc2.weight";
    default: return name(p, s, layer);
    }
  }

  std::string scope(Stack s, int64_t layer,
                    llvm::StringRef part) const override {
    std::string stack =
        encoderDecoder ? (s == Stack::Encoder ? "encoder." : "decoder.") : "";
    if (layer < 0)
      return stack + part.str();
    return stack + "layers." + std::to_string(layer) + "." + part.str();
  }

private:
  bool encoderDecoder, shared;
};
} // namespace

std::unique_ptr<WeightNaming>
mlir::tfm::makeCanonicalNaming(bool encoderDecoder, bool sharedEmbeddings) {
  return std::make_unique<CanonicalNaming>(encoderDecoder, sharedEmbeddings);
}
