//===- HFBPE.cpp - tokenizer.json's BPE model -----------------------------===//
//
// Part of tfmc. The model of Llama, Mistral, Qwen2, Gemma and Phi
// tokenizers: merge ranks, unk and fuse_unk, byte fallback to <0xXX>,
// continuing-subword prefix, end-of-word suffix and ignore_merges, as
// Hugging Face `tokenizers` applies them to one pre-tokenized word: the
// characters (else their bytes, else <unk>), then merges by rank, lowest
// first and leftmost among equals.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <queue>

using namespace tfmc::rt;
using namespace tfmc::rt::hf;
using json = nlohmann::json;

namespace {

class BPEModel final : public Model {
public:
  bool load(const json &model, std::string &error);
  bool encodeWord(const std::string &word, std::vector<int64_t> &ids,
                  std::string &error) const override;

private:
  std::unordered_map<uint64_t, std::pair<int, int64_t>> merges; // -> rank, id
  bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
  std::string prefix, suffix; // continuing_subword_prefix, end_of_word_suffix
};

uint64_t pairKey(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
}

bool BPEModel::load(const json &model, std::string &error) {
  auto fail = [&](const std::string &key, const std::string &what) {
    error = "model" + (key.empty() ? "" : "." + key) + ": " + what;
    return false;
  };
  if (!model.is_object())
    return fail("", "expected an object");
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
  findByteTokens();

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

bool BPEModel::encodeWord(const std::string &word, std::vector<int64_t> &ids,
                          std::string &) const {
  if (ignoreMerges)
    if (auto it = vocab.find(word); it != vocab.end()) {
      ids.push_back(it->second);
      return true;
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
  for (long i = n ? 0 : -1; i >= 0; i = next[i])
    ids.push_back(sym[i]);
  return true;
}

} // namespace

void Model::findByteTokens() {
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = vocab.find(name);
    byteIds[b] = it == vocab.end() ? -1 : it->second;
  }
}

std::unique_ptr<Model> tfmc::rt::hf::makeBPEModel(const json &node,
                                                  std::string &error) {
  auto m = std::make_unique<BPEModel>();
  if (!m->load(node, error))
    return nullptr;
  return m;
}
