//===- HFTokenizer.cpp - Hugging Face tokenizer.json (BPE) ----------------===//
//
// Part of tfmc. The tokenizer of Llama, Mistral, Qwen2, Gemma and Phi
// checkpoints: tokenizer.json's added tokens, normalizer, pre-tokenizer,
// BPE model (merge ranks, unk and fuse_unk, byte fallback to <0xXX>,
// continuing-subword prefix, end-of-word suffix, ignore_merges) and
// post-processor for encoding; its decoder chain for decoding. Both the
// byte-level style (Qwen2, Llama 3: ByteLevel pre-tokenizer and decoder)
// and the SentencePiece style (Llama 2, Mistral, Gemma: "▁" for spaces,
// byte fallback) are tokenizer.json files of this one shape.
//
// Encoding follows `tokenizers`: added tokens without normalization are
// cut out of the raw text (leftmost-longest), each remaining split is
// normalized, normalized added tokens are cut out of that, the pre-
// tokenizer splits words, and each word is merged by rank (lowest first,
// leftmost among equals). "truncation" and "padding" are not applied: the
// runtime takes whole texts and checks their length against the model.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <mutex>
#include <queue>

using namespace tfmc::rt;
using namespace tfmc::rt::hf;
using json = nlohmann::json;

namespace {

struct AddedToken {
  std::string content;
  int64_t id;
  bool singleWord, lstrip, rstrip, normalized, special;
};

class HFTokenizer final : public Tokenizer {
public:
  bool load(const FileSource &files, std::string &error);
  bool encode(const std::string &text, bool addSpecial,
              std::vector<int64_t> &ids, std::string &error) const override;
  bool decode(const std::vector<int64_t> &ids, bool skipSpecial,
              std::string &text, std::string &error) const override;
  std::vector<int64_t> promptPrefix() const override { return framePrefix; }
  size_t stablePrefix(const std::vector<int64_t> &ids) const override {
    // ByteFallback decodes a run of <0xXX> tokens as one: the run at the
    // end may still change.
    size_t n = ids.size();
    if (decoder && decoder->joinsByteTokens())
      while (n > 0 && ids[n - 1] >= 0 &&
             static_cast<size_t>(ids[n - 1]) < byteToken.size() &&
             byteToken[ids[n - 1]])
        --n;
    return n;
  }

private:
  bool loadModel(const json &model, std::string &error);
  bool loadAdded(const json &added, std::string &error);
  bool loadPostProcessor(const json &node, const JsonPath &path,
                         std::string &error);
  /// Cuts the added tokens of one kind (normalized or not) out of pieces.
  void splitAdded(Pieces &pieces, bool normalized) const;
  void encodeWord(const std::string &word, std::vector<int64_t> &ids) const;

  // The BPE model.
  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_map<uint64_t, std::pair<int, int64_t>> merges; // -> rank, id
  int64_t unkId = -1;
  bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
  std::string prefix, suffix;  // continuing_subword_prefix, end_of_word_suffix
  int64_t byteIds[256];        // <0xXX>, or -1
  std::vector<bool> byteToken; // by id: one of byteIds

  std::vector<AddedToken> added;
  std::vector<std::string> normalizedContent; ///< parallel to `added`
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<Decoder> decoder;
  std::vector<int64_t> framePrefix, frameSuffix; ///< the post-processor's

  mutable std::mutex cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;
};

uint64_t pairKey(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
}

bool HFTokenizer::load(const FileSource &files, std::string &error) {
  const std::string file = files.path("tokenizer.json");
  json doc;
  if (!files.readJson("tokenizer.json", doc, error))
    return false;
  auto fail = [&](const std::string &what) {
    error = file + ": " + what;
    return false;
  };
  if (!doc.is_object())
    return fail("expected a JSON object");
  if (!doc.contains("model"))
    return fail("model: missing");
  std::string e;
  if (!loadModel(doc["model"], e) ||
      !loadAdded(doc.value("added_tokens", json()), e))
    return fail(e);
  auto node = [&](const char *key) -> const json * {
    auto it = doc.find(key);
    return it == doc.end() || it->is_null() ? nullptr : &*it;
  };
  if (const json *n = node("normalizer"))
    if (!(normalizer = makeNormalizer(*n, "normalizer", e)))
      return fail(e);
  if (const json *n = node("pre_tokenizer"))
    if (!(preTokenizer = makePreTokenizer(*n, "pre_tokenizer", e)))
      return fail(e);
  if (const json *n = node("decoder"))
    if (!(decoder = makeDecoder(*n, "decoder", e)))
      return fail(e);
  if (const json *n = node("post_processor"))
    if (!loadPostProcessor(*n, "post_processor", e))
      return fail(e);
  for (const AddedToken &t : added)
    normalizedContent.push_back(
        normalizer && t.normalized ? normalizer->apply(t.content) : t.content);

  // The vocabulary by id: the model's, then added tokens past it.
  int64_t size = 0;
  for (auto &[t, id] : vocab)
    size = std::max(size, id + 1);
  for (const AddedToken &t : added)
    size = std::max(size, t.id + 1);
  idToToken.assign(size, std::string());
  isSpecial.assign(size, false);
  std::vector<bool> seen(size, false);
  for (auto &[t, id] : vocab) {
    idToToken[id] = t;
    seen[id] = true;
  }
  for (size_t i = 0; i < added.size(); ++i) {
    const AddedToken &t = added[i];
    if (seen[t.id] && idToToken[t.id] != t.content)
      return fail("added_tokens[" + std::to_string(i) + "]: id " +
                  std::to_string(t.id) + " is '" + idToToken[t.id] +
                  "' in model.vocab, not '" + t.content + "'");
    idToToken[t.id] = t.content;
    seen[t.id] = true;
    isSpecial[t.id] = t.special;
  }
  byteToken.assign(size, false);
  for (int64_t id : byteIds)
    if (id >= 0)
      byteToken[id] = true;
  for (int64_t id = 0; id < size; ++id)
    if (!seen[id])
      return fail("model.vocab: no token has id " + std::to_string(id) +
                  " (ids must be 0, 1, ... without gaps)");

  // Roles: BOS is what the post-processor puts first; the rest by the
  // names these families use (config.json's ids take precedence).
  if (unkId >= 0)
    specials["unk"] = unkId;
  if (!framePrefix.empty())
    specials["bos"] = framePrefix.front();
  auto byName = [&](const char *role,
                    std::initializer_list<const char *> names) {
    if (specials.count(role))
      return;
    for (const char *n : names)
      for (const AddedToken &t : added)
        if (t.special && t.content == n) {
          specials[role] = t.id;
          return;
        }
  };
  byName("bos", {"<s>", "<bos>", "<|begin_of_text|>", "<|startoftext|>"});
  byName("eos", {"</s>", "<eos>", "<|endoftext|>", "<|end_of_text|>"});
  byName("pad", {"<pad>", "<|pad|>"});
  return true;
}

bool HFTokenizer::loadModel(const json &model, std::string &error) {
  auto fail = [&](const std::string &key, const std::string &what) {
    error = "model" + (key.empty() ? "" : "." + key) + ": " + what;
    return false;
  };
  if (!model.is_object())
    return fail("", "expected an object");
  std::string type = model.value("type", std::string());
  if (type != "BPE")
    return fail("type", "unsupported model '" + type +
                            "' (tfmc reads BPE tokenizer.json files)");
  auto optString = [&](const char *key, std::string &out) {
    auto it = model.find(key);
    if (it == model.end() || it->is_null())
      return true;
    if (!it->is_string())
      return fail(key, "expected a string or null");
    out = it->get<std::string>();
    return true;
  };
  auto optBool = [&](const char *key, bool &out) {
    auto it = model.find(key);
    if (it == model.end() || it->is_null())
      return true;
    if (!it->is_boolean())
      return fail(key, "expected true or false");
    out = it->get<bool>();
    return true;
  };
  std::string unk;
  if (!optString("unk_token", unk) ||
      !optString("continuing_subword_prefix", prefix) ||
      !optString("end_of_word_suffix", suffix) ||
      !optBool("fuse_unk", fuseUnk) ||
      !optBool("byte_fallback", byteFallback) ||
      !optBool("ignore_merges", ignoreMerges))
    return false;
  if (auto it = model.find("dropout");
      it != model.end() && !it->is_null() &&
      !(it->is_number() && it->get<double>() == 0.0))
    return fail("dropout", "BPE dropout samples tokenizations at random; "
                           "tfmc encodes deterministically (set it to null)");

  auto v = model.find("vocab");
  if (v == model.end() || !v->is_object() || v->empty())
    return fail("vocab", "expected a non-empty object mapping tokens to ids");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= (int64_t(1) << 31))
      return fail("vocab", "token '" + it.key() + "' has id " +
                               it.value().dump() + "; expected an id >= 0");
    vocab[it.key()] = it.value().get<int64_t>();
  }
  if (!unk.empty()) {
    auto it = vocab.find(unk);
    if (it == vocab.end())
      return fail("unk_token", "'" + unk + "' is not in model.vocab");
    unkId = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = vocab.find(name);
    byteIds[b] = it == vocab.end() ? -1 : it->second;
  }

  auto m = model.find("merges");
  if (m == model.end() || !m->is_array())
    return fail("merges", "expected an array");
  for (size_t i = 0; i < m->size(); ++i) {
    const json &e = (*m)[i];
    std::string left, right;
    if (e.is_string()) {
      std::string s = e.get<std::string>();
      size_t space = s.find(' ');
      if (space == std::string::npos ||
          s.find(' ', space + 1) != std::string::npos)
        return fail("merges[" + std::to_string(i) + "]",
                    "expected two tokens separated by one space, got '" + s +
                        "'");
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() &&
               e[1].is_string()) {
      left = e[0].get<std::string>();
      right = e[1].get<std::string>();
    } else {
      return fail("merges[" + std::to_string(i) + "]",
                  "expected \"left right\" or [\"left\", \"right\"]");
    }
    std::string joined = left + (right.compare(0, prefix.size(), prefix) == 0
                                     ? right.substr(prefix.size())
                                     : right);
    for (const std::string &t : {left, right, joined})
      if (!vocab.count(t))
        return fail("merges[" + std::to_string(i) + "]",
                    "'" + t + "' is not in model.vocab");
    merges.emplace(pairKey(vocab[left], vocab[right]),
                   std::make_pair(static_cast<int>(i), vocab[joined]));
  }
  return true;
}

bool HFTokenizer::loadAdded(const json &list, std::string &error) {
  if (list.is_null())
    return true;
  if (!list.is_array()) {
    error = "added_tokens: expected an array";
    return false;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const json &t = list[i];
    std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_unsigned() ||
        !t.contains("content") || !t["content"].is_string() ||
        t["content"].get<std::string>().empty()) {
      error = where + ": expected {\"id\": N, \"content\": \"...\", ...}";
      return false;
    }
    auto flag = [&](const char *key, bool dflt) {
      auto it = t.find(key);
      return it != t.end() && it->is_boolean() ? it->get<bool>() : dflt;
    };
    added.push_back({t["content"].get<std::string>(), t["id"].get<int64_t>(),
                     flag("single_word", false), flag("lstrip", false),
                     flag("rstrip", false), flag("normalized", true),
                     flag("special", false)});
    if (added.back().id >= (int64_t(1) << 31)) {
      error = where + ".id: too large";
      return false;
    }
  }
  return true;
}

bool HFTokenizer::loadPostProcessor(const json &node, const JsonPath &path,
                                    std::string &error) {
  auto fail = [&](const std::string &key, const std::string &what) {
    error = path + (key.empty() ? "" : "." + key) + ": " + what;
    return false;
  };
  std::string type = node.is_object() ? node.value("type", std::string()) : "";
  if (type == "ByteLevel")
    return true; // offsets only
  if (type == "Sequence") {
    auto parts = node.find("processors");
    if (parts == node.end() || !parts->is_array())
      return fail("processors", "expected an array");
    for (size_t i = 0; i < parts->size(); ++i)
      if (!loadPostProcessor((*parts)[i],
                             path + ".processors[" + std::to_string(i) + "]",
                             error))
        return false;
    return true;
  }
  std::vector<int64_t> pre, post;
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    for (const char *key : {"cls", "sep"}) {
      auto it = node.find(key);
      if (it == node.end() || !it->is_array() || it->size() != 2 ||
          !(*it)[1].is_number_unsigned())
        return fail(key, "expected [\"token\", id]");
      (std::string(key) == "cls" ? pre : post)
          .push_back((*it)[1].get<int64_t>());
    }
  } else if (type == "TemplateProcessing") {
    auto single = node.find("single");
    auto specialsNode = node.find("special_tokens");
    if (single == node.end() || !single->is_array())
      return fail("single", "expected an array");
    bool seenA = false;
    for (size_t i = 0; i < single->size(); ++i) {
      const json &it = (*single)[i];
      std::string where = "single[" + std::to_string(i) + "]";
      if (it.contains("Sequence")) {
        if (it["Sequence"].value("id", std::string()) != "A" || seenA)
          return fail(where,
                      "a single-sequence template holds sequence A once");
        seenA = true;
      } else if (it.contains("SpecialToken") &&
                 it["SpecialToken"].contains("id") &&
                 it["SpecialToken"]["id"].is_string()) {
        std::string name = it["SpecialToken"]["id"].get<std::string>();
        if (specialsNode == node.end() || !specialsNode->contains(name) ||
            !(*specialsNode)[name].contains("ids") ||
            !(*specialsNode)[name]["ids"].is_array())
          return fail(where,
                      "special token '" + name + "' is not in special_tokens");
        for (const json &id : (*specialsNode)[name]["ids"]) {
          if (!id.is_number_unsigned())
            return fail("special_tokens." + name + ".ids", "expected ids");
          (seenA ? post : pre).push_back(id.get<int64_t>());
        }
      } else {
        return fail(where,
                    "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
  } else {
    return fail("type", "unsupported post-processor '" + type +
                            "' (tfmc reads TemplateProcessing, "
                            "BertProcessing, RobertaProcessing, ByteLevel, "
                            "Sequence)");
  }
  // Applied in order: a later processor frames the earlier one's result.
  framePrefix.insert(framePrefix.begin(), pre.begin(), pre.end());
  frameSuffix.insert(frameSuffix.end(), post.begin(), post.end());
  return true;
}

/// What `tokenizers` counts as part of a word for single_word tokens.
bool wordChar(char32_t c) { return isLetter(c) || isNumber(c) || c == U'_'; }

void HFTokenizer::splitAdded(Pieces &pieces, bool normalized) const {
  std::vector<size_t> which;
  for (size_t i = 0; i < added.size(); ++i)
    if (added[i].normalized == normalized)
      which.push_back(i);
  if (which.empty())
    return;
  Pieces out;
  for (Piece &p : pieces) {
    if (p.addedId >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    const std::string &s = p.text;
    std::vector<char32_t> cp;
    size_t bad;
    size_t from = 0; // the start of the text not yet emitted
    auto continuation = [&](size_t at) {
      return (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80;
    };
    // The code point that ends at byte `end` / starts at byte `at`.
    auto lastChar = [&](size_t end) -> char32_t {
      size_t b = end - 1;
      while (b > 0 && continuation(b))
        --b;
      decodeUtf8(s.substr(b, end - b), cp, bad);
      return cp.empty() ? 0 : cp[0];
    };
    auto firstChar = [&](size_t at) -> char32_t {
      size_t e = at + 1;
      while (e < s.size() && continuation(e))
        ++e;
      decodeUtf8(s.substr(at, e - at), cp, bad);
      return cp.empty() ? 0 : cp[0];
    };
    for (size_t i = 0; i < s.size();) {
      // Leftmost-longest among the candidates.
      const AddedToken *best = nullptr;
      size_t bestLen = 0;
      for (size_t k : which) {
        const std::string &c =
            normalized ? normalizedContent[k] : added[k].content;
        if (c.size() > bestLen && s.compare(i, c.size(), c) == 0) {
          best = &added[k];
          bestLen = c.size();
        }
      }
      if (!best) {
        ++i;
        continue;
      }
      size_t start = i, stop = i + bestLen;
      i = stop;
      if (best->singleWord && ((start > 0 && wordChar(lastChar(start))) ||
                               (stop < s.size() && wordChar(firstChar(stop)))))
        continue;
      if (best->lstrip)
        while (start > from && isWhiteSpace(lastChar(start))) {
          --start;
          while (start > from && continuation(start))
            --start;
        }
      if (best->rstrip)
        while (stop < s.size() && isWhiteSpace(firstChar(stop))) {
          ++stop;
          while (stop < s.size() && continuation(stop))
            ++stop;
        }
      if (start > from)
        out.push_back({s.substr(from, start - from), -1});
      out.push_back({s.substr(start, stop - start), best->id});
      from = i = stop;
    }
    if (from < s.size())
      out.push_back({s.substr(from), -1});
  }
  pieces.swap(out);
}

void HFTokenizer::encodeWord(const std::string &word,
                             std::vector<int64_t> &ids) const {
  if (ignoreMerges)
    if (auto it = vocab.find(word); it != vocab.end()) {
      ids.push_back(it->second);
      return;
    }
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    if (auto it = cache.find(word); it != cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  // Initial symbols: characters (with the subword prefix and word suffix),
  // else their bytes, else <unk> (fused when asked).
  std::vector<int64_t> sym;
  std::vector<char32_t> cp;
  size_t bad;
  decodeUtf8(word, cp, bad);
  int64_t pendingUnk = -1;
  for (size_t i = 0; i < cp.size(); ++i) {
    std::string ch;
    appendUtf8(ch, cp[i]);
    std::string s =
        (i > 0 ? prefix : "") + ch + (i + 1 == cp.size() ? suffix : "");
    if (auto it = vocab.find(s); it != vocab.end()) {
      if (pendingUnk >= 0)
        sym.push_back(pendingUnk);
      pendingUnk = -1;
      sym.push_back(it->second);
      continue;
    }
    if (byteFallback) {
      bool all = true;
      for (unsigned char b : ch)
        all &= byteIds[b] >= 0;
      if (all) {
        for (unsigned char b : ch)
          sym.push_back(byteIds[b]);
        continue;
      }
    }
    if (unkId >= 0) {
      if (pendingUnk >= 0 && !fuseUnk)
        sym.push_back(pendingUnk);
      pendingUnk = unkId;
    }
    // Without an unk token the character is dropped, as in `tokenizers`.
  }
  if (pendingUnk >= 0)
    sym.push_back(pendingUnk);

  // Merges: lowest rank first, leftmost among equal ranks; symbols are a
  // linked list so each merge is O(log n).
  size_t n = sym.size();
  std::vector<long> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = static_cast<long>(i) - 1;
    next[i] = i + 1 < n ? static_cast<long>(i + 1) : -1;
  }
  using Entry = std::tuple<int, long, int64_t, int64_t,
                           int64_t>; // rank, pos, left, right, new
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](long i) {
    if (i < 0 || next[i] < 0)
      return;
    auto it = merges.find(pairKey(sym[i], sym[next[i]]));
    if (it != merges.end())
      heap.push({it->second.first, i, sym[i], sym[next[i]], it->second.second});
  };
  for (size_t i = 0; i + 1 < n; ++i)
    push(static_cast<long>(i));
  std::vector<bool> dead(n, false);
  while (!heap.empty()) {
    auto [rank, i, l, r, merged] = heap.top();
    heap.pop();
    if (dead[i] || next[i] < 0 || sym[i] != l || sym[next[i]] != r)
      continue; // stale
    long j = next[i];
    sym[i] = merged;
    dead[j] = true;
    next[i] = next[j];
    if (next[j] >= 0)
      prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  std::vector<int64_t> out;
  for (long i = n ? 0 : -1; i >= 0; i = next[i])
    out.push_back(sym[i]);
  ids.insert(ids.end(), out.begin(), out.end());
  std::lock_guard<std::mutex> lock(cacheMutex);
  if (cache.size() < 100000 && word.size() < 256)
    cache.emplace(word, std::move(out));
}

bool HFTokenizer::encode(const std::string &text, bool addSpecial,
                         std::vector<int64_t> &ids, std::string &error) const {
  ids.clear();
  std::vector<char32_t> cp;
  if (!decodeText(text, cp, error))
    return false;
  Pieces pieces;
  if (!text.empty())
    pieces.push_back({text, -1});
  splitAdded(pieces, /*normalized=*/false);
  if (normalizer) {
    Pieces kept;
    for (Piece &p : pieces) {
      if (p.addedId < 0)
        p.text = normalizer->apply(p.text);
      if (p.addedId >= 0 || !p.text.empty())
        kept.push_back(std::move(p));
    }
    pieces.swap(kept);
  }
  splitAdded(pieces, /*normalized=*/true);
  if (preTokenizer)
    preTokenizer->apply(pieces);
  if (addSpecial)
    ids = framePrefix;
  for (const Piece &p : pieces) {
    if (p.addedId >= 0)
      ids.push_back(p.addedId);
    else if (!p.text.empty())
      encodeWord(p.text, ids);
  }
  if (addSpecial)
    ids.insert(ids.end(), frameSuffix.begin(), frameSuffix.end());
  return true;
}

bool HFTokenizer::decode(const std::vector<int64_t> &ids, bool skipSpecial,
                         std::string &text, std::string &error) const {
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    if (!checkId(id, error))
      return false;
    if (!(skipSpecial && isSpecial[id]))
      tokens.push_back(idToToken[id]);
  }
  text.clear();
  if (decoder) {
    decoder->apply(tokens);
    for (const std::string &t : tokens)
      text += t;
    return true;
  }
  for (size_t i = 0; i < tokens.size(); ++i)
    text += (i ? " " : "") + tokens[i];
  return true;
}

} // namespace

std::unique_ptr<Tokenizer> tfmc::rt::makeHFTokenizer(const FileSource &files,
                                                     std::string &error) {
  auto t = std::make_unique<HFTokenizer>();
  if (!t->load(files, error))
    return nullptr;
  return t;
}
