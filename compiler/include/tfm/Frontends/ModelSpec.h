//===- ModelSpec.h - a model as a composition of blocks ---------*- C++ -*-===//
//
// Part of tfmc. Every frontend (our TOML format, the Hugging Face
// architectures of HFFrontend.cpp's table) describes a model as the blocks
// it is made of -- embeddings, positions, attention, feed-forward, norms and
// the head, each with its own small configuration -- plus the stacks that
// repeat them and the shapes to compile. The model builder composes one
// block builder per part (Blocks.h); how parameters are named in the
// weights file is the only other thing that differs between sources
// (WeightNaming).
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
enum class NormPlacement {
  Post,    ///< norm(x + f(x)) per sublayer, as in the paper
  Pre,     ///< x + f(norm(x)) per sublayer (GPT-2)
  Parallel ///< x + (attn(norm(x)) + ffn(norm(x))), one norm per layer (Phi)
};
enum class Activation { ReLU, GELU, GELUTanh, SiLU };
enum class PositionKind { Sinusoidal, Learned, None, Rotary, Relative };

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
  FFNGateWeight,
  FFNGateBias,
  FFNOutWeight,
  FFNOutBias,
  FFNNormWeight,
  FFNNormBias,
  // Per stack.
  FinalNormWeight,
  FinalNormBias,
  LMHeadWeight,
  LMHeadBias,
  // Vision encoders (ViT): the patch embedding (a stride-P convolution,
  // [d, C, P, P]), the class token, the pooler (dense + tanh on the class
  // token) and the classifier on the class token.
  PatchWeight,
  PatchBias,
  ClassToken,
  PoolerWeight,
  PoolerBias,
  ClassifierWeight,
  ClassifierBias,
  // Mixture of experts (per layer): the router [experts, d] and, per
  // expert (WeightNaming::expertName), the gated FFN's gate and up
  // projections [d_ff, d] and its down projection [d, d_ff].
  RouterWeight,
  ExpertGateWeight,
  ExpertUpWeight,
  ExpertDownWeight,
  // T5: the relative position bias table [buckets, heads] of a stack's
  // self-attention (stored with its first layer, shared by all).
  RelativeBiasTable,
};

/// Names parameters as they are stored in the weights file, and says how they
/// are laid out.
class WeightNaming {
public:
  virtual ~WeightNaming() = default;
  /// Stored name of a parameter (`layer` is -1 for non-layer parameters).
  virtual std::string name(Param p, Stack s, int64_t layer) const = 0;
  /// Stored name of expert `expert`'s parameter `p` in a mixture-of-experts
  /// layer (Param::Expert*).
  virtual std::string expertName(Param p, Stack s, int64_t layer,
                                 int64_t expert) const = 0;
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
/// its files (tfm/Support/Abi.h, tokenizerFiles), copied into the artifact.
struct TokenizerSource {
  std::string kind; ///< empty: none; "char", "byte_bpe" or "wordpiece"
  bool lowercase = false;
  std::string directory;
  std::optional<Location> loc; ///< where the model file describes it
};

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

/// Token (and token-type) embeddings, and what is done to their sum.
struct EmbeddingConfig {
  int64_t vocabSize = 0;
  int64_t typeVocabSize = 0; ///< token-type embeddings when > 0
  bool scale = false;        ///< multiply by sqrt(d_model)
  bool norm = false;         ///< norm after the embedding sum (BERT)
  bool shared = true;        ///< encoder-decoder: one token table
};

/// How positions enter the model. Learned tables and the sinusoidal
/// encoding are added to the embeddings; kinds that act inside attention
/// (rotary, relative bias) are the position block's to add.
struct PositionConfig {
  PositionKind kind = PositionKind::Sinusoidal;
  double base = 10000.0;      ///< sinusoidal or rotary wavelength base (theta)
  int64_t rotaryDim = 0;      ///< rotary: features rotated per head (0: all)
  double rotaryScaling = 1.0; ///< rotary: positions divided by it (linear)
  bool rotaryInterleaved = false; ///< rotary: adjacent pairs (GPT-J)
  /// relative (T5): bucketed relative position biases added to every
  /// self-attention's scores (bidirectional buckets in the encoder, causal
  /// ones in the decoder).
  int64_t relativeBuckets = 32, relativeMaxDistance = 128;
};

/// Multi-head attention with separate query and key/value head counts
/// (fewer key/value heads: grouped-query attention, each shared by
/// numHeads / numKVHeads query heads).
struct AttentionConfig {
  int64_t numHeads = 0;
  int64_t numKVHeads = 0; ///< 0: numHeads
  bool bias = true;       ///< biases of the Q, K and V projections
  bool outBias = true;    ///< bias of the output projection
  int64_t headDim = 0;    ///< features per head (0: d_model / numHeads)
  /// Causal self-attention sees only the last `slidingWindow` positions
  /// (Mistral); 0: all of them.
  int64_t slidingWindow = 0;
  /// Scores scaled by 1/sqrt(head_dim); T5 does not scale.
  bool scaled = true;

  int64_t kvHeads() const { return numKVHeads ? numKVHeads : numHeads; }
};

/// The position-wise feed-forward network: fc2(act(fc1 x)), or, gated,
/// fc2(act(gate x) * fc1 x).
struct FeedForwardConfig {
  int64_t dFF = 0;
  Activation activation = Activation::ReLU;
  bool gated = false;
  bool bias = true;
};

/// A mixture of experts in place of the feed-forward network (Mixtral):
/// a router linear (no bias) scores the experts per token, the top_k are
/// chosen, and their gated FFNs (d_ff features, the FFN's activation, no
/// biases) are summed with the routing weights.
struct MoEConfig {
  int64_t experts = 0; ///< 0: a dense feed-forward network
  int64_t topK = 2;
  /// Softmax over the selected logits (top-k, then softmax: Mixtral's
  /// renormalised weights) rather than the probabilities of a softmax over
  /// every expert (softmax, then top-k).
  bool topkSoftmax = true;

  bool enabled() const { return experts > 0; }
};

/// The norms of the residual sublayers.
struct NormConfig {
  NormKind kind = NormKind::LayerNorm;
  NormPlacement placement = NormPlacement::Post;
  double eps = 1e-5;
  bool final = false;      ///< a norm after the last layer (pre-LN models)
  bool unitOffset = false; ///< scale by (1 + weight) (Gemma's RMSNorm)
};

/// The language-model head.
struct HeadConfig {
  bool tied = true;  ///< the token embedding's transpose
  bool bias = false; ///< an output bias (Phi)
  /// The hidden states are multiplied by it before the head (T5 with a
  /// tied head: d_model^-0.5).
  double scale = 1.0;
};

/// An encoder of images (ViT): pixel_values [batch, channels, size, size]
/// cut into (size / patch)^2 patches, each projected to d_model, after a
/// class token; learned positions for the 1 + patches tokens.
struct VisionConfig {
  int64_t imageSize = 0, patchSize = 0, channels = 3;
  bool pooler = false;   ///< pooler_output: tanh(dense(class token))
  int64_t numLabels = 0; ///< > 0: logits of a classifier on the class token

  /// How an image becomes pixel_values (preprocessor_config.json, as
  /// ViTImageProcessor does it): resized to height x width (PIL's
  /// bilinear filter), multiplied by rescaleFactor, normalised per channel.
  struct Preprocessing {
    bool present = false;
    int64_t height = 0, width = 0;
    bool resize = true, rescale = true, normalize = true;
    double rescaleFactor = 1.0 / 255.0;
    std::vector<double> mean, std;
  } preprocessing;
  /// Class names by label id (config.json's id2label; may be empty).
  std::vector<std::string> labels;

  bool enabled() const { return patchSize > 0; }
  int64_t patches() const {
    return (imageSize / patchSize) * (imageSize / patchSize);
  }
};

/// A repeated stack of layers.
struct StackConfig {
  int64_t layers = 0;
  Location loc; ///< where the model file describes it
};

struct ModelSpec {
  Family family = Family::Encoder;
  int64_t dModel = 0, maxSeqLen = 0;
  EmbeddingConfig embedding;
  PositionConfig positions;
  AttentionConfig attention;
  FeedForwardConfig ffn;
  MoEConfig moe;
  NormConfig norm;
  HeadConfig head;
  StackConfig encoder, decoder;
  VisionConfig vision;
  bool paddingMask = false; ///< take an attention_mask input
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
  /// Where the model is described (file:line:col of the model section); op
  /// locations nest inside it and the stacks' locations.
  Location modelLoc;

  explicit ModelSpec(Location loc)
      : encoder{0, loc}, decoder{0, loc}, modelLoc(loc) {}

  int64_t headDim() const {
    return attention.headDim ? attention.headDim : dModel / attention.numHeads;
  }
  bool hasEncoder() const { return family != Family::Decoder; }
  bool hasDecoder() const { return family != Family::Encoder; }
  const StackConfig &stack(Stack s) const {
    return s == Stack::Encoder ? encoder : decoder;
  }
};

llvm::StringRef stringify(Family f);
llvm::StringRef stringify(Activation a);

} // namespace mlir::tfm

#endif // TFM_FRONTENDS_MODELSPEC_H
