//===- HFTokenizer.cpp - Hugging Face tokenizer.json ----------------------===//
//
// Part of tfmc. The tokenizer of Llama, Mistral, Qwen2, Gemma, Phi and T5
// checkpoints: tokenizer.json's added tokens, normalizer, pre-tokenizer,
// model (BPE: HFBPE.cpp; Unigram: HFUnigram.cpp) and post-processor for
// encoding; its decoder chain for decoding. The byte-level style (Qwen2,
// Llama 3: ByteLevel pre-tokenizer and decoder), the SentencePiece BPE
// style (Llama 2, Mistral, Gemma: "▁" for spaces, byte fallback) and
// SentencePiece Unigram (T5: Precompiled normalizer, Metaspace) are
// tokenizer.json files of this one shape.
//
// Encoding follows `tokenizers`: added tokens without normalization are
// cut out of the raw text (leftmost-longest), each remaining split is
// normalized, normalized added tokens are cut out of that, the pre-
// tokenizer splits words, and the model encodes each word. "truncation" and
// "padding" are not applied: the runtime takes whole texts and checks their
// length against the model.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <mutex>

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
  bool framesSource() const override { return true; }
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
  bool loadModel(const json &node, std::string &error);
  bool loadAdded(const json &added, std::string &error);
  bool loadPostProcessor(const json &node, const JsonPath &path,
                         std::string &error);
  /// Cuts the added tokens of one kind (normalized or not) out of pieces.
  void splitAdded(Pieces &pieces, bool normalized) const;
  /// The model's ids for one word, through a cache of frequent words.
  bool encodeWord(const std::string &word, std::vector<int64_t> &ids,
                  std::string &error) const;

  std::unique_ptr<Model> model;
  std::vector<bool> byteToken; // by id: one of the model's <0xXX> tokens

  std::vector<AddedToken> added;
  std::vector<std::string> normalizedContent; ///< parallel to `added`
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<Decoder> decoder;
  std::vector<int64_t> framePrefix, frameSuffix; ///< the post-processor's

  mutable std::mutex cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;
};

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
  for (auto &[t, id] : model->vocab)
    size = std::max(size, id + 1);
  for (const AddedToken &t : added)
    size = std::max(size, t.id + 1);
  idToToken.assign(size, std::string());
  isSpecial.assign(size, false);
  std::vector<bool> seen(size, false);
  for (auto &[t, id] : model->vocab) {
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
  for (int64_t id : model->byteIds)
    if (id >= 0)
      byteToken[id] = true;
  for (int64_t id = 0; id < size; ++id)
    if (!seen[id])
      return fail("model.vocab: no token has id " + std::to_string(id) +
                  " (ids must be 0, 1, ... without gaps)");

  // Roles: BOS is what the post-processor puts first; the rest by the
  // names these families use (config.json's ids take precedence).
  if (model->unkId >= 0)
    specials["unk"] = model->unkId;
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
    // A converted SentencePiece vocabulary may list its control pieces
    // only in the model (transformers adds them when it loads the file).
    for (const char *n : names)
      if (auto it = model->vocab.find(n); it != model->vocab.end()) {
        specials[role] = it->second;
        return;
      }
  };
  byName("bos", {"<s>", "<bos>", "<|begin_of_text|>", "<|startoftext|>"});
  byName("eos", {"</s>", "<eos>", "<|endoftext|>", "<|end_of_text|>"});
  byName("pad", {"<pad>", "<|pad|>"});
  return true;
}

bool HFTokenizer::loadModel(const json &node, std::string &error) {
  std::string type = node.is_object() ? node.value("type", std::string()) : "";
  if (type == "BPE")
    model = makeBPEModel(node, error);
  else if (type == "Unigram")
    model = makeUnigramModel(node, error);
  else if (!node.is_object())
    error = "model: expected an object";
  else
    error = "model.type: unsupported model '" + type +
            "' (tfmc reads BPE and Unigram tokenizer.json files)";
  return model != nullptr;
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
  // The candidates by their first byte (T5 has 100 sentinels).
  std::vector<size_t> which[256];
  bool any = false;
  for (size_t i = 0; i < added.size(); ++i)
    if (added[i].normalized == normalized) {
      const std::string &c =
          normalized ? normalizedContent[i] : added[i].content;
      if (!c.empty()) {
        which[static_cast<unsigned char>(c[0])].push_back(i);
        any = true;
      }
    }
  if (!any)
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
      for (size_t k : which[static_cast<unsigned char>(s[i])]) {
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

bool HFTokenizer::encodeWord(const std::string &word, std::vector<int64_t> &ids,
                             std::string &error) const {
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    if (auto it = cache.find(word); it != cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return true;
    }
  }
  size_t from = ids.size();
  if (!model->encodeWord(word, ids, error))
    return false;
  std::lock_guard<std::mutex> lock(cacheMutex);
  if (cache.size() < 100000 && word.size() < 256)
    cache.emplace(word, std::vector<int64_t>(ids.begin() + from, ids.end()));
  return true;
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
      if (!encodeWord(p.text, ids, error))
        return false;
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
