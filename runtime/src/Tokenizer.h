//===- Tokenizer.h - text to token ids and back ----------------*- C++ -*-===//
//
// Part of tfmc. Four tokenizers, each reproducing Hugging Face `tokenizers`:
// character-level (our demo models), GPT-2 byte-level BPE (vocab.json +
// merges.txt), BERT WordPiece (vocab.txt) and tokenizer.json's BPE and
// Unigram pipelines (Llama, Mistral, Qwen2, Gemma, Phi; T5). Unicode properties
// come from ICU. Errors are messages naming the file and line or the text
// position.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_TOKENIZER_H
#define TFMC_RUNTIME_TOKENIZER_H

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tfmc::rt {

/// Where a tokenizer's files come from: a directory, or contents embedded
/// in an executable's manifest.
struct FileSource {
  std::string directory;
  std::map<std::string, std::string> inline_; ///< file name -> contents
  /// Reads `name`; false with `error` set when it cannot.
  bool read(const std::string &name, std::string &out,
            std::string &error) const;
  /// Reads and parses `name` as JSON; false with `error` naming the file
  /// and byte offset when it cannot.
  bool readJson(const std::string &name, nlohmann::json &doc,
                std::string &error) const;
  std::string path(const std::string &name) const {
    return directory.empty() ? name : directory + "/" + name;
  }
};

class Tokenizer {
public:
  virtual ~Tokenizer() = default;
  /// Encodes UTF-8 text; with `addSpecial`, the model's framing tokens
  /// (BERT's [CLS] ... [SEP]). False with `error` set on bad input.
  virtual bool encode(const std::string &text, bool addSpecial,
                      std::vector<int64_t> &ids, std::string &error) const = 0;
  /// Decodes ids to UTF-8 bytes (a single BPE token may end inside a
  /// character; concatenated pieces are valid). `skipSpecial` drops
  /// special tokens.
  virtual bool decode(const std::vector<int64_t> &ids, bool skipSpecial,
                      std::string &text, std::string &error) const = 0;
  /// The text of one token as the vocabulary spells it (for labels).
  std::string token(int64_t id) const {
    return id >= 0 && static_cast<size_t>(id) < idToToken.size()
               ? idToToken[id]
               : std::string();
  }
  size_t vocabSize() const { return idToToken.size(); }
  /// The ids a prompt for a decoder to continue starts with (Llama's <s>).
  virtual std::vector<int64_t> promptPrefix() const { return {}; }
  /// Whether an encoder-decoder's source gets the framing (tokenizer.json's
  /// post-processor, as HF's tokenizer(text) applies it).
  virtual bool framesSource() const { return false; }
  /// How many leading `ids` decode to text no later id can change.
  virtual size_t stablePrefix(const std::vector<int64_t> &ids) const {
    return ids.size();
  }
  /// Special token ids by role ("bos", "eos", "pad", "unk", "cls", "sep").
  std::optional<int64_t> special(const std::string &role) const {
    auto it = specials.find(role);
    if (it == specials.end())
      return std::nullopt;
    return it->second;
  }

  /// Loads a tokenizer of `kind` ("char", "byte_bpe", "wordpiece",
  /// "tokenizer_json").
  static std::unique_ptr<Tokenizer> load(const std::string &kind,
                                         const FileSource &files,
                                         bool lowercase, std::string &error);

protected:
  /// False with `error` set when `id` is not a token of the vocabulary.
  bool checkId(int64_t id, std::string &error) const;
  /// `text` as code points; false with `error` at the first invalid byte.
  static bool decodeText(const std::string &text, std::vector<char32_t> &cp,
                         std::string &error);

  std::map<std::string, int64_t> specials;
  std::vector<std::string> idToToken; ///< the vocabulary, by id
  std::vector<bool> isSpecial;        ///< parallel to idToToken
};

// The tokenizers (one file each).
std::unique_ptr<Tokenizer> makeCharTokenizer(const FileSource &files,
                                             std::string &error);
std::unique_ptr<Tokenizer> makeByteBPE(const FileSource &files,
                                       std::string &error);
std::unique_ptr<Tokenizer> makeWordPiece(const FileSource &files,
                                         bool lowercase, std::string &error);
std::unique_ptr<Tokenizer> makeHFTokenizer(const FileSource &files,
                                           std::string &error);

// UTF-8 and Unicode helpers (Unicode.cpp).
/// Decodes UTF-8; false with the byte offset of the first invalid sequence.
bool decodeUtf8(const std::string &s, std::vector<char32_t> &out,
                size_t &badOffset);
void appendUtf8(std::string &out, char32_t c);
bool isLetter(char32_t c);
bool isNumber(char32_t c);
bool isWhiteSpace(char32_t c);
bool isPunctuation(char32_t c); ///< general category P*
bool isOther(char32_t c);       ///< general category C*
bool isNonspacingMark(char32_t c);
/// NFD decomposition and full lower-casing (ICU, root locale).
std::u32string nfd(const std::u32string &s);
std::u32string toLower(const std::u32string &s);
std::string describe(char32_t c); ///< 'é' (U+00E9)

} // namespace tfmc::rt

#endif // TFMC_RUNTIME_TOKENIZER_H
