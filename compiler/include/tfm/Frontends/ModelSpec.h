//===- ModelSpec.h - architecture description shared by frontends -*- C++
//-*-===//
//
// Part of tfmc. Every frontend (our TOML format, Hugging Face GPT-2 and BERT
// folders) fills a ModelSpec; one ModelBuilder turns it into tfm IR. How the
// parameters are named and laid out in the weights file is the only thing
// that differs between sources (WeightNaming).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTENDS_MODELSPEC_H
#define TFM_FRONTENDS_MODELSPEC_H

#include "mlir/IR/Location.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mlir::tfm {

enum class Family { Encoder, Decoder, EncoderDecoder };
enum class NormKind { LayerNorm, RMSNorm };
enum class NormPlacement { Post, Pre };
enum class Activation { ReLU, GELU, GELUTanh, SiLU };
enum class PositionKind { Sinusoidal, Learned, None };

/// Which stack of an encoder-decoder a parameter belongs to.
enum class Stack { Encoder, Decoder };

/// The role of a parameter in the architecture.
enum class Param {
  TokenEmbedding,
  PositionEmbedding,
  TokenTypeEmbedding,
  EmbeddingNormWeight,
  EmbeddingNormBias,
  // Per layer; Self* for self-attention, Cross* for cross-attention.
  SelfQWeight,
  SelfQBias,
  SelfKWeight,
  SelfKBias,
  SelfVWeight,
  SelfVBias,
  SelfQKVWeight,
  SelfQKVBias, // one fused projection (GPT-2 c_attn)
  SelfOutWeight,
  SelfOutBias,
  SelfNormWeight,
  SelfNormBias,
  CrossQWeight,
  CrossQBias,
  CrossKWeight,
  CrossKBias,
  CrossVWeight,
  CrossVBias,
  CrossOutWeight,
  CrossOutBias,
  CrossNormWeight,
  CrossNormBias,
  FFNInWeight,
  FFNInBias,
  FFNOutWeight,
  FFNOutBias,
  FFNNormWeight,
  FFNNormBias,
  // Per stack.
  FinalNormWeight,
  FinalNormBias,
  LMHeadWeight,
};

/// Names parameters as they are stored in the weights file, and says how they
/// are laid out.
class WeightNaming {
public:
  virtual ~WeightNaming() = default;
  /// Stored name of a parameter (`layer` is -1 for non-layer parameters).
  virtual std::string name(Param p, Stack s, int64_t layer) const = 0;
  /// Matrices stored [in, out] (Conv1D) rather than [out, in] (nn.Linear).
  virtual bool weightsInOut() const { return false; }
  /// Q, K and V of self-attention stored as one [.., 3*d] projection.
  virtual bool fusedQKV() const { return false; }
  /// Source-level name of a group of ops (a layer's "self_attn",
  /// "cross_attn", "ffn", or a stack-level "embeddings", "lm_head", ...),
  /// used in op locations: e.g. "encoder.layers.1.self_attn".
  virtual std::string scope(Stack s, int64_t layer,
                            llvm::StringRef part) const = 0;
};

/// tfmc's own names (docs/model-format.md).
std::unique_ptr<WeightNaming> makeCanonicalNaming(bool encoderDecoder,
                                                  bool sharedEmbeddings);

/// The model's tokenizer: a kind the runtime knows and the directory with
/// its files (tokenizerFiles(kind)), which are copied into the artifact.
struct TokenizerSource {
  std::string kind; ///< empty: none; "char", "byte_bpe" or "wordpiece"
  bool lowercase = false;
  std::string directory;
  std::optional<Location> loc; ///< where the model file describes it
};

struct ModelSpec {
  Family family = Family::Encoder;
  int64_t vocabSize = 0, dModel = 0, numHeads = 0, dFF = 0;
  int64_t encoderLayers = 0, decoderLayers = 0, maxSeqLen = 0;
  NormKind norm = NormKind::LayerNorm;
  NormPlacement placement = NormPlacement::Post;
  double normEps = 1e-5;
  Activation activation = Activation::ReLU;
  PositionKind positions = PositionKind::Sinusoidal;
  bool attentionBias = true, ffnBias = true;
  bool tieEmbeddings = true;    ///< LM head uses the token embedding.
  bool sharedEmbeddings = true; ///< encoder-decoder: one token embedding.
  bool embeddingScale = false;  ///< multiply embeddings by sqrt(d_model).
  bool embeddingNorm = false;   ///< norm after the embedding sum (BERT).
  bool finalNorm = false;       ///< norm after the last layer (pre-LN).
  bool paddingMask = false;     ///< take an attention_mask input.
  int64_t typeVocabSize = 0;    ///< token-type embeddings when > 0.
  int64_t padId = -1, bosId = -1, eosId = -1;
  /// Shapes of the compiled entry points: sequence lengths are static, or
  /// kDynamicLength (any length up to maxSeqLen, chosen at run time).
  int64_t batch = 1, seqLen = 0, targetSeqLen = 0;
  static constexpr int64_t kDynamicLength = -1;

  /// Also build the debug entries that return attention probabilities
  /// (forward_attention, decode_attention).
  bool attentionEntries = false;

  std::unique_ptr<WeightNaming> naming;
  TokenizerSource tokenizer;
  /// Where the model is described (file:line:col of the model section) and
  /// where each stack is described; op locations nest inside these.
  Location modelLoc, encoderLoc, decoderLoc;

  explicit ModelSpec(Location loc)
      : modelLoc(loc), encoderLoc(loc), decoderLoc(loc) {}

  int64_t headDim() const { return dModel / numHeads; }
  bool hasEncoder() const { return family != Family::Decoder; }
  bool hasDecoder() const { return family != Family::Encoder; }
};

llvm::StringRef stringify(Family f);
llvm::StringRef stringify(Activation a);

} // namespace mlir::tfm

#endif // TFM_FRONTENDS_MODELSPEC_H
