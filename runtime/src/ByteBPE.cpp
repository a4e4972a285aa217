//===- ByteBPE.cpp - GPT-2 byte-level BPE ---------------------------------===//
//
// Part of tfmc. As GPT-2 and Hugging Face's ByteLevel pre-tokenizer + BPE
// model do it: split the text with GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (matched here by hand, alternative by alternative), map each piece's
// UTF-8 bytes to printable characters (the byte-to-unicode table), merge
// adjacent symbols by merge rank, look the symbols up in the vocabulary.
// Vocabulary entries written <|...|> are special tokens, matched in the
// text before splitting.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <mutex>
#include <sstream>

using namespace tfmc::rt;

namespace {

class ByteBPE final : public Tokenizer {
public:
  bool load(const FileSource &files, std::string &error);
  bool encode(const std::string &text, bool addSpecial,
              std::vector<int64_t> &ids, std::string &error) const override;
  bool decode(const std::vector<int64_t> &ids, bool skipSpecial,
              std::string &text, std::string &error) const override;

private:
  /// [begin, end) code point ranges of GPT-2's pre-tokens.
  static std::vector<std::pair<size_t, size_t>>
  split(const std::vector<char32_t> &cp);
  bool encodeWord(const std::string &bytes, std::vector<int64_t> &ids,
                  std::string &error) const;

  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::string> specialTokens;     // longest first
  std::unordered_map<std::string, int> ranks; // "left right" -> rank
  mutable std::mutex cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;
};

bool ByteBPE::load(const FileSource &files, std::string &error) {
  nlohmann::json doc;
  if (!files.readJson("vocab.json", doc, error))
    return false;
  if (!doc.is_object() || doc.empty()) {
    error =
        files.path("vocab.json") + ": expected an object mapping tokens to ids";
    return false;
  }
  idToToken.assign(doc.size(), std::string());
  std::vector<bool> seen(doc.size(), false);
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= static_cast<int64_t>(doc.size()) ||
        seen[it.value().get<int64_t>()]) {
      error = files.path("vocab.json") + ": token '" + it.key() + "' has id " +
              it.value().dump() +
              "; ids must be distinct and "
              "in [0, " +
              std::to_string(doc.size()) + ")";
      return false;
    }
    int64_t id = it.value().get<int64_t>();
    seen[id] = true;
    idToToken[id] = it.key();
    vocab[it.key()] = id;
  }
  isSpecial.assign(idToToken.size(), false);
  for (size_t id = 0; id < idToToken.size(); ++id) {
    const std::string &t = idToToken[id];
    if (t.size() > 4 && t.compare(0, 2, "<|") == 0 &&
        t.compare(t.size() - 2, 2, "|>") == 0) {
      isSpecial[id] = true;
      specialTokens.push_back(t);
    }
  }
  std::sort(specialTokens.begin(), specialTokens.end(),
            [](const std::string &a, const std::string &b) {
              return a.size() > b.size();
            });
  if (auto it = vocab.find("<|endoftext|>"); it != vocab.end())
    specials["bos"] = specials["eos"] = it->second;

  std::string text;
  if (!files.read("merges.txt", text, error))
    return false;
  std::istringstream lines(text);
  std::string line;
  int lineNo = 0, rank = 0;
  while (std::getline(lines, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || (lineNo == 1 && line.rfind("#version", 0) == 0))
      continue;
    size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      error = files.path("merges.txt") + ":" + std::to_string(lineNo) +
              ": expected two tokens separated by one space, got '" + line +
              "'";
      return false;
    }
    // As Hugging Face does: both sides and their merge must be tokens.
    std::string left = line.substr(0, space), right = line.substr(space + 1);
    for (const std::string &t : {left, right, left + right})
      if (!vocab.count(t)) {
        error = files.path("merges.txt") + ":" + std::to_string(lineNo) +
                ": '" + t + "' is not in vocab.json";
        return false;
      }
    ranks.emplace(line, rank++);
  }
  return true;
}

std::vector<std::pair<size_t, size_t>>
ByteBPE::split(const std::vector<char32_t> &cp) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t n = cp.size(), i = 0;
  auto other = [](char32_t c) {
    return !isWhiteSpace(c) && !isLetter(c) && !isNumber(c);
  };
  // " ?X+" for a class X: the optional space, then a maximal run.
  auto run = [&](auto &&inClass) -> size_t {
    size_t j = i;
    if (cp[j] == U' ' && j + 1 < n && inClass(cp[j + 1]))
      ++j;
    if (!inClass(cp[j]))
      return i;
    while (j < n && inClass(cp[j]))
      ++j;
    return j;
  };
  while (i < n) {
    size_t end = i;
    if (cp[i] == U'\'' && i + 1 < n) {
      static const std::u32string kContractions[] = {U"s", U"t",  U"re", U"ve",
                                                     U"m", U"ll", U"d"};
      for (const std::u32string &c : kContractions)
        if (i + 1 + c.size() <= n &&
            std::equal(c.begin(), c.end(), cp.begin() + i + 1)) {
          end = i + 1 + c.size();
          break;
        }
    }
    if (end == i)
      end = run(isLetter);
    if (end == i)
      end = run(isNumber);
    if (end == i)
      end = run(other);
    if (end == i) {
      // \s+(?!\S) | \s+ : a whitespace run leaves its last character to a
      // following non-space (unless the run is that one character).
      size_t k = i;
      while (k < n && isWhiteSpace(cp[k]))
        ++k;
      end = (k == n || k - i == 1) ? k : k - 1;
    }
    out.push_back({i, end});
    i = end;
  }
  return out;
}

bool ByteBPE::encodeWord(const std::string &bytes, std::vector<int64_t> &ids,
                         std::string &error) const {
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto it = cache.find(bytes);
    if (it != cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return true;
    }
  }
  std::vector<std::string> symbols;
  for (unsigned char b : bytes)
    symbols.push_back(hf::ByteAlphabet::get().byteToChar[b]);
  while (symbols.size() > 1) {
    int best = INT_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = ranks.find(symbols[i] + " " + symbols[i + 1]);
      if (it != ranks.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == INT_MAX)
      break;
    std::string first = symbols[at], second = symbols[at + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == first &&
          symbols[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(symbols[i++]);
      }
    }
    symbols.swap(merged);
  }
  std::vector<int64_t> out;
  for (const std::string &s : symbols) {
    auto it = vocab.find(s);
    if (it == vocab.end()) {
      error = "the vocabulary has no token '" + s +
              "' (are vocab.json and merges.txt from the same tokenizer?)";
      return false;
    }
    out.push_back(it->second);
  }
  ids.insert(ids.end(), out.begin(), out.end());
  std::lock_guard<std::mutex> lock(cacheMutex);
  if (cache.size() < 100000)
    cache.emplace(bytes, std::move(out));
  return true;
}

bool ByteBPE::encode(const std::string &text, bool, std::vector<int64_t> &ids,
                     std::string &error) const {
  ids.clear();
  std::vector<char32_t> cp;
  if (!decodeText(text, cp, error))
    return false;
  // Special tokens first, then GPT-2's pre-tokens of the text between them.
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t next = std::string::npos;
    const std::string *special = nullptr;
    for (const std::string &s : specialTokens) {
      size_t at = text.find(s, pos);
      if (at < next) {
        next = at;
        special = &s;
      }
    }
    std::string segment = text.substr(
        pos, next == std::string::npos ? std::string::npos : next - pos);
    std::vector<char32_t> seg;
    size_t bad; // the whole text was validated above
    decodeUtf8(segment, seg, bad);
    for (auto [b, e] : split(seg)) {
      std::string bytes;
      for (size_t k = b; k < e; ++k)
        appendUtf8(bytes, seg[k]);
      if (!encodeWord(bytes, ids, error))
        return false;
    }
    if (!special)
      break;
    ids.push_back(vocab.at(*special));
    pos = next + special->size();
  }
  return true;
}

bool ByteBPE::decode(const std::vector<int64_t> &ids, bool skipSpecial,
                     std::string &text, std::string &error) const {
  text.clear();
  for (int64_t id : ids) {
    if (!checkId(id, error))
      return false;
    if (isSpecial[id]) {
      if (!skipSpecial)
        text += idToToken[id];
      continue;
    }
    std::vector<char32_t> cp;
    size_t bad;
    decodeUtf8(idToToken[id], cp, bad);
    for (char32_t c : cp) {
      unsigned char b;
      if (!hf::ByteAlphabet::get().charToByte(c, b)) {
        error = "token " + std::to_string(id) + " ('" + idToToken[id] +
                "') is not a byte-level token";
        return false;
      }
      text += static_cast<char>(b);
    }
  }
  return true;
}

} // namespace

std::unique_ptr<Tokenizer> tfmc::rt::makeByteBPE(const FileSource &files,
                                                 std::string &error) {
  auto t = std::make_unique<ByteBPE>();
  if (!t->load(files, error))
    return nullptr;
  return t;
}
