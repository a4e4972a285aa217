//===- HFPipeline.h - tokenizer.json's normalizers, splitters, decoders ---===//
//
// Part of tfmc. Hugging Face `tokenizers` runs text through a pipeline that
// tokenizer.json spells out: added tokens are cut out, the rest is
// normalized, pre-tokenized (split into words), each word is run through
// the model (BPE or Unigram), and a post-processor frames the ids. Decoding
// runs the tokens through a chain of decoders. This header is the pipeline's
// pieces, each built from its JSON node and reproducing the Rust
// implementation's behaviour; HFBPE.cpp and HFUnigram.cpp are the models,
// HFPrecompiled.cpp SentencePiece's normalizer, HFTokenizer.cpp the driver.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_HFPIPELINE_H
#define TFMC_RUNTIME_HFPIPELINE_H

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tfmc::rt::hf {

/// One split of the text on its way to the model: UTF-8 text, or an added
/// token already resolved to its id.
struct Piece {
  std::string text;
  int64_t addedId = -1; ///< >= 0: an added token, left alone by the rest
};
using Pieces = std::vector<Piece>;

/// A regular expression as tokenizer.json writes them (Oniguruma syntax;
/// \s and \S mean Unicode White_Space as there), compiled with ICU.
class Regex {
public:
  /// False with `error` set when ICU rejects the pattern.
  bool compile(const std::string &pattern, bool literal, std::string &error);
  /// Non-empty matches in `text` as [begin, end) byte offsets.
  std::vector<std::pair<size_t, size_t>> find(const std::string &text) const;
  ~Regex();

private:
  void *pattern = nullptr; ///< icu::RegexPattern
};

class Normalizer {
public:
  virtual ~Normalizer() = default;
  virtual std::string apply(const std::string &text) const = 0;
};

class PreTokenizer {
public:
  virtual ~PreTokenizer() = default;
  /// Splits every piece that is not an added token.
  virtual void apply(Pieces &pieces) const = 0;
};

class Decoder {
public:
  virtual ~Decoder() = default;
  /// Rewrites the token strings (decode_chain); the result is joined.
  virtual void apply(std::vector<std::string> &tokens) const = 0;
  /// Whether consecutive <0xXX> tokens decode together (ByteFallback), so
  /// a later byte token can change how earlier ones decode.
  virtual bool joinsByteTokens() const { return false; }
};

/// tokenizer.json's "model": the vocabulary, and how one pre-tokenized
/// word becomes ids (BPE merges, or Unigram's best segmentation).
class Model {
public:
  virtual ~Model() = default;
  /// Appends the ids of `word` (non-empty); false with `error` set when it
  /// cannot be encoded (a character no token covers and no unk token).
  virtual bool encodeWord(const std::string &word, std::vector<int64_t> &ids,
                          std::string &error) const = 0;

  std::unordered_map<std::string, int64_t> vocab; ///< every token's id
  int64_t unkId = -1;
  int64_t byteIds[256]; ///< <0xXX>'s id, or -1

protected:
  /// Fills byteIds from vocab.
  void findByteTokens();
};

/// Where a node sits in tokenizer.json ("pre_tokenizer.pretokenizers[1]"),
/// for error messages.
using JsonPath = std::string;

/// Build a piece from its JSON node (not null); nullptr with `error`
/// naming `path` for an unsupported or malformed node.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json &node,
                                           const JsonPath &path,
                                           std::string &error);
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json &node,
                                               const JsonPath &path,
                                               std::string &error);
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json &node,
                                     const JsonPath &path, std::string &error);
/// The models (HFBPE.cpp, HFUnigram.cpp); errors name "model.<key>".
std::unique_ptr<Model> makeBPEModel(const nlohmann::json &node,
                                    std::string &error);
std::unique_ptr<Model> makeUnigramModel(const nlohmann::json &node,
                                        std::string &error);
/// SentencePiece's compiled normalization rules (HFPrecompiled.cpp).
std::unique_ptr<Normalizer>
makePrecompiledNormalizer(const nlohmann::json &node, const JsonPath &path,
                          std::string &error);

/// GPT-2's reversible map from bytes to printable code points (UTF-8 of
/// each byte's character; and back), shared by the byte-level tokenizers.
struct ByteAlphabet {
  std::string byteToChar[256];
  bool charToByte(char32_t c, unsigned char &b) const;
  static const ByteAlphabet &get();

private:
  /// By code point: its byte, or -1. Printable bytes map to themselves,
  /// the other 68 to 256 + k, so every code point is below 324.
  int16_t byteOf[324];
};

/// Bytes to UTF-8 as Rust's String::from_utf8_lossy does it: each maximal
/// invalid subpart becomes one U+FFFD.
std::string utf8Lossy(const std::string &bytes);

} // namespace tfmc::rt::hf

#endif // TFMC_RUNTIME_HFPIPELINE_H
