//===- WordPiece.cpp - BERT WordPiece -------------------------------------===//
//
// Part of tfmc. As Hugging Face's BertNormalizer, BertPreTokenizer and
// WordPiece model do it:
//  * normalise: drop NUL, U+FFFD and other control/format characters, map
//    whitespace to ' ', put spaces around CJK ideographs, then (when lower-
//    casing) strip accents (NFD, drop nonspacing marks) and lower-case;
//  * split on whitespace, and isolate every punctuation character;
//  * split each word greedily into the longest vocabulary pieces, later
//    pieces with the "##" prefix; a word that cannot be split (or has more
//    than 100 characters) is [UNK];
//  * frame with [CLS] ... [SEP].
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"

#include <cstring>
#include <sstream>

using namespace tfmc::rt;

namespace {

class WordPiece final : public Tokenizer {
public:
  bool load(const FileSource &files, bool lowercase, std::string &error);
  bool encode(const std::string &text, bool addSpecial,
              std::vector<int64_t> &ids, std::string &error) const override;
  bool decode(const std::vector<int64_t> &ids, bool skipSpecial,
              std::string &text, std::string &error) const override;

private:
  std::u32string normalize(const std::vector<char32_t> &cp) const;
  void wordPieces(const std::u32string &word, std::vector<int64_t> &ids) const;

  std::unordered_map<std::string, int64_t> vocab;
  bool lowercase = true;
  int64_t unk = -1;
  static constexpr size_t kMaxCharsPerWord = 100;
};

bool isChineseChar(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool isBertPunctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126) || isPunctuation(c);
}

bool WordPiece::load(const FileSource &files, bool lower, std::string &error) {
  lowercase = lower;
  std::string text;
  if (!files.read("vocab.txt", text, error))
    return false;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    while (!line.empty() &&
           (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    size_t bad;
    std::vector<char32_t> cp;
    if (!decodeUtf8(line, cp, bad)) {
      error = files.path("vocab.txt") + ":" +
              std::to_string(idToToken.size() + 1) +
              ": not valid UTF-8 (at column " + std::to_string(bad + 1) + ")";
      return false;
    }
    vocab[line] = static_cast<int64_t>(idToToken.size());
    idToToken.push_back(line);
  }
  if (idToToken.empty()) {
    error = files.path("vocab.txt") + ": the vocabulary is empty";
    return false;
  }
  isSpecial.assign(idToToken.size(), false);
  for (auto [role, tok] :
       {std::pair<const char *, const char *>{"unk", "[UNK]"},
        {"cls", "[CLS]"},
        {"sep", "[SEP]"},
        {"pad", "[PAD]"},
        {"mask", "[MASK]"}}) {
    auto it = vocab.find(tok);
    if (it == vocab.end())
      continue;
    specials[role] = it->second;
    isSpecial[it->second] = true;
  }
  if (!specials.count("unk")) {
    error = files.path("vocab.txt") + ": the vocabulary has no [UNK] token";
    return false;
  }
  unk = specials["unk"];
  if (specials.count("cls"))
    specials["bos"] = specials["cls"];
  if (specials.count("sep"))
    specials["eos"] = specials["sep"];
  return true;
}

std::u32string WordPiece::normalize(const std::vector<char32_t> &cp) const {
  std::u32string s;
  for (char32_t c : cp) {
    bool ws = c == U'\t' || c == U'\n' || c == U'\r' || isWhiteSpace(c);
    if (c == 0 || c == 0xFFFD || (!ws && isOther(c)))
      continue;
    if (ws) {
      s += U' ';
    } else if (isChineseChar(c)) {
      s += U' ';
      s += c;
      s += U' ';
    } else {
      s += c;
    }
  }
  if (lowercase) {
    std::u32string stripped;
    for (char32_t c : nfd(s))
      if (!isNonspacingMark(c))
        stripped += c;
    s = toLower(stripped);
  }
  return s;
}

void WordPiece::wordPieces(const std::u32string &word,
                           std::vector<int64_t> &ids) const {
  if (word.size() > kMaxCharsPerWord) {
    ids.push_back(unk);
    return;
  }
  std::vector<int64_t> pieces;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    int64_t found = -1;
    while (start < end) {
      std::string piece = start > 0 ? "##" : "";
      for (size_t k = start; k < end; ++k)
        appendUtf8(piece, word[k]);
      auto it = vocab.find(piece);
      if (it != vocab.end()) {
        found = it->second;
        break;
      }
      --end;
    }
    if (found < 0) {
      ids.push_back(unk);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
}

bool WordPiece::encode(const std::string &text, bool addSpecial,
                       std::vector<int64_t> &ids, std::string &error) const {
  ids.clear();
  std::vector<char32_t> cp;
  if (!decodeText(text, cp, error))
    return false;
  if (addSpecial && specials.count("cls"))
    ids.push_back(specials.at("cls"));
  std::u32string s = normalize(cp), word;
  auto flush = [&] {
    if (!word.empty())
      wordPieces(word, ids);
    word.clear();
  };
  for (char32_t c : s) {
    if (isWhiteSpace(c)) {
      flush();
    } else if (isBertPunctuation(c)) {
      flush();
      word = c;
      flush();
    } else {
      word += c;
    }
  }
  flush();
  if (addSpecial && specials.count("sep"))
    ids.push_back(specials.at("sep"));
  return true;
}

bool WordPiece::decode(const std::vector<int64_t> &ids, bool skipSpecial,
                       std::string &text, std::string &error) const {
  text.clear();
  bool first = true;
  for (int64_t id : ids) {
    if (!checkId(id, error))
      return false;
    if (skipSpecial && isSpecial[id])
      continue;
    const std::string &t = idToToken[id];
    std::string piece;
    if (!first && t.rfind("##", 0) == 0)
      piece = t.substr(2);
    else
      piece = (first ? "" : " ") + t;
    first = false;
    // Hugging Face's clean-up of tokenisation spaces, applied as its
    // WordPiece decoder does: to each token's piece, not the joined text
    // (so "it ' s" stays apart, "there ." joins).
    static const std::pair<const char *, const char *> kCleanup[] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
        {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
        {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (auto [from, to] : kCleanup) {
      std::string f = from;
      for (size_t at = piece.find(f); at != std::string::npos;
           at = piece.find(f, at + std::strlen(to)))
        piece.replace(at, f.size(), to);
    }
    text += piece;
  }
  return true;
}

} // namespace

std::unique_ptr<Tokenizer> tfmc::rt::makeWordPiece(const FileSource &files,
                                                   bool lowercase,
                                                   std::string &error) {
  auto t = std::make_unique<WordPiece>();
  if (!t->load(files, lowercase, error))
    return nullptr;
  return t;
}
