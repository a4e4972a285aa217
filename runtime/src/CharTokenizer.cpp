//===- CharTokenizer.cpp - one token per character ------------------------===//
//
// Part of tfmc. The vocabulary (chars.json) is a JSON array of strings:
// single characters, and special tokens such as "<bos>", "<eos>" and
// "<pad>" that only the model emits. A character not in the vocabulary is
// an error naming it and its position.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"

#include <nlohmann/json.hpp>

using namespace tfmc::rt;

namespace {

class CharTokenizer final : public Tokenizer {
public:
  bool load(const FileSource &files, std::string &error) {
    nlohmann::json doc;
    if (!files.readJson("chars.json", doc, error))
      return false;
    if (!doc.is_array() || doc.empty()) {
      error = files.path("chars.json") +
              ": expected a non-empty array of characters and special tokens";
      return false;
    }
    for (size_t i = 0; i < doc.size(); ++i) {
      std::vector<char32_t> cp;
      size_t bad;
      if (!doc[i].is_string() ||
          !decodeUtf8(doc[i].get<std::string>(), cp, bad) || cp.empty()) {
        error = files.path("chars.json") + ": entry " + std::to_string(i) +
                " is not a non-empty string";
        return false;
      }
      std::string t = doc[i].get<std::string>();
      idToToken.push_back(t);
      isSpecial.push_back(cp.size() > 1);
      if (cp.size() == 1) {
        if (!byChar.emplace(cp[0], static_cast<int64_t>(i)).second) {
          error = files.path("chars.json") + ": character " + describe(cp[0]) +
                  " appears twice";
          return false;
        }
      } else if (t.size() > 2 && t.front() == '<' && t.back() == '>') {
        specials[t.substr(1, t.size() - 2)] = static_cast<int64_t>(i);
      }
    }
    return true;
  }

  bool encode(const std::string &text, bool addSpecial,
              std::vector<int64_t> &ids, std::string &error) const override {
    ids.clear();
    std::vector<char32_t> cp;
    if (!decodeText(text, cp, error))
      return false;
    if (addSpecial && specials.count("bos"))
      ids.push_back(specials.at("bos"));
    size_t offset = 0;
    for (char32_t c : cp) {
      auto it = byChar.find(c);
      if (it == byChar.end()) {
        error = "character " + describe(c) + " at byte " +
                std::to_string(offset) +
                " is not in the model's vocabulary of " +
                std::to_string(byChar.size()) + " characters";
        return false;
      }
      ids.push_back(it->second);
      std::string tmp;
      appendUtf8(tmp, c);
      offset += tmp.size();
    }
    return true;
  }

  bool decode(const std::vector<int64_t> &ids, bool skipSpecial,
              std::string &text, std::string &error) const override {
    text.clear();
    for (int64_t id : ids) {
      if (!checkId(id, error))
        return false;
      if (!(skipSpecial && isSpecial[id]))
        text += idToToken[id];
    }
    return true;
  }

private:
  std::unordered_map<char32_t, int64_t> byChar;
};

} // namespace

std::unique_ptr<Tokenizer> tfmc::rt::makeCharTokenizer(const FileSource &files,
                                                       std::string &error) {
  auto t = std::make_unique<CharTokenizer>();
  if (!t->load(files, error))
    return nullptr;
  return t;
}

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string &kind,
                                           const FileSource &files,
                                           bool lowercase, std::string &error) {
  if (kind == "char")
    return makeCharTokenizer(files, error);
  if (kind == "byte_bpe")
    return makeByteBPE(files, error);
  if (kind == "wordpiece")
    return makeWordPiece(files, lowercase, error);
  if (kind == "tokenizer_json")
    return makeHFTokenizer(files, error);
  error = "unknown tokenizer kind '" + kind +
          "' (expected char, byte_bpe, wordpiece or tokenizer_json)";
  return nullptr;
}
