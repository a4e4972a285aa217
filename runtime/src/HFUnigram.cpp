//===- HFUnigram.cpp - tokenizer.json's Unigram model ---------------------===//
//
// Part of tfmc. The model of SentencePiece Unigram vocabularies (T5,
// flan-T5, mT5, ALBERT, XLNet as `tokenizers` converts them): a list of
// pieces with log-probabilities, where a word is cut into the pieces whose
// scores sum highest. As in `tokenizers` (Unigram::encode_optimized), the
// best segmentation is found left to right over the word's character
// boundaries: every piece starting at a boundary (a trie walk over the
// bytes) extends the best path ending there, the first candidate wins on
// equal scores, and a character no single-character piece covers becomes
// <unk> with the lowest score less 10. Adjacent unknown characters fuse
// into one segment, which then is its piece if the vocabulary has it, its
// <0xXX> bytes under byte_fallback, else <unk>.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>

using namespace tfmc::rt;
using namespace tfmc::rt::hf;
using json = nlohmann::json;

namespace {

/// The pieces' bytes as a trie: edges in one hash map keyed by
/// (node, byte), the piece ending at each node (or -1).
class PieceTrie {
public:
  void insert(const std::string &piece, int64_t id) {
    uint32_t node = 0;
    for (unsigned char b : piece) {
      auto [it, fresh] = edges.try_emplace(key(node, b), 0);
      if (fresh) {
        it->second = static_cast<uint32_t>(ends.size());
        ends.push_back(-1);
      }
      node = it->second;
    }
    ends[node] = id;
  }
  /// Calls fn(length, id) for every piece that is a prefix of
  /// text[from..], shortest first.
  template <typename Fn>
  void prefixes(const std::string &text, size_t from, Fn &&fn) const {
    uint32_t node = 0;
    for (size_t i = from; i < text.size(); ++i) {
      auto it = edges.find(key(node, static_cast<unsigned char>(text[i])));
      if (it == edges.end())
        return;
      node = it->second;
      if (ends[node] >= 0)
        fn(i + 1 - from, ends[node]);
    }
  }

private:
  static uint64_t key(uint32_t node, unsigned char b) {
    return (static_cast<uint64_t>(node) << 8) | b;
  }
  std::unordered_map<uint64_t, uint32_t> edges;
  std::vector<int64_t> ends{-1}; // the root
};

class UnigramModel final : public Model {
public:
  bool load(const json &model, std::string &error);
  bool encodeWord(const std::string &word, std::vector<int64_t> &ids,
                  std::string &error) const override;

private:
  std::vector<double> scores; ///< by id
  double unkScore = 0;        ///< the lowest score less 10
  bool byteFallback = false;
  PieceTrie trie;
};

/// The score as `tokenizers` reads it. serde_json (without its
/// float_roundtrip feature) parses a decimal as its digits in a u64, converted
/// to f64, then multiplied or divided once by a power of ten: a 17-digit
/// score is rounded twice and can land one ulp from the nearest double.
/// The segmentation compares sums of scores, so ties fall where that
/// ulp puts them. The file's text is the shortest decimal that reads back
/// as `exact` (Python's json and serde_json both write it so), rebuilt here
/// with std::to_chars, and parsed again the way serde_json does.
double asSerdeReadsIt(double exact) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), exact);
  if (ec != std::errc())
    return exact;
  uint64_t sig = 0;
  int exp10 = 0, digits = 0;
  bool negative = false, fraction = false;
  for (const char *p = buf; p < end; ++p) {
    char c = *p;
    if (c == '-') {
      negative = true;
    } else if (c == '.') {
      fraction = true;
    } else if (c >= '0' && c <= '9') {
      if (++digits > 19)
        return exact; // serde_json's slow path; shortest forms never get here
      sig = sig * 10 + static_cast<uint64_t>(c - '0');
      exp10 -= fraction;
    } else if (c == 'e') {
      int e = 0;
      std::from_chars(p + 1 + (p[1] == '+'), end, e);
      exp10 += e;
      break;
    }
  }
  // Powers of ten up to 1e22 are exact doubles; scores (log-probabilities)
  // never need more.
  int k = exp10 < 0 ? -exp10 : exp10;
  if (k > 22)
    return exact;
  double pow = 1;
  for (int i = 0; i < k; ++i)
    pow *= 10;
  double f = static_cast<double>(sig);
  f = exp10 >= 0 ? f * pow : f / pow;
  return negative ? -f : f;
}

/// Bytes in the UTF-8 character whose lead byte is `b` (valid UTF-8).
size_t charLength(unsigned char b) {
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

bool UnigramModel::load(const json &model, std::string &error) {
  auto fail = [&](const std::string &key, const std::string &what) {
    error = "model." + key + ": " + what;
    return false;
  };
  auto v = model.find("vocab");
  if (v == model.end() || !v->is_array() || v->empty())
    return fail("vocab", "expected a non-empty array of [\"piece\", score]");
  if (v->size() >= (size_t(1) << 31))
    return fail("vocab", "too many pieces");
  double minScore = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < v->size(); ++i) {
    const json &e = (*v)[i];
    std::string where = "vocab[" + std::to_string(i) + "]";
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() ||
        !e[1].is_number() || !std::isfinite(e[1].get<double>()))
      return fail(where, "expected [\"piece\", score] with a finite score");
    std::string piece = e[0].get<std::string>();
    auto [it, fresh] = vocab.emplace(piece, static_cast<int64_t>(i));
    if (!fresh)
      return fail(where, "'" + piece + "' is also vocab[" +
                             std::to_string(it->second) + "]");
    scores.push_back(asSerdeReadsIt(e[1].get<double>()));
    minScore = std::min(minScore, scores.back());
    if (!piece.empty())
      trie.insert(piece, static_cast<int64_t>(i));
  }
  unkScore = minScore - 10.0;
  if (auto u = model.find("unk_id"); u != model.end() && !u->is_null()) {
    if (!u->is_number_unsigned() || u->get<uint64_t>() >= v->size())
      return fail("unk_id", "expected an index into model.vocab (0 to " +
                                std::to_string(v->size() - 1) + ")");
    unkId = u->get<int64_t>();
  }
  if (auto b = model.find("byte_fallback"); b != model.end() && !b->is_null()) {
    if (!b->is_boolean())
      return fail("byte_fallback", "expected true or false");
    byteFallback = b->get<bool>();
  }
  findByteTokens();
  return true;
}

bool UnigramModel::encodeWord(const std::string &word,
                              std::vector<int64_t> &ids,
                              std::string &error) const {
  // best[e]: the best segmentation of word[0, e): its score, the start of
  // its last piece (npos: none yet) and that piece's id.
  constexpr size_t none = std::string::npos;
  struct Node {
    double score = 0;
    size_t start = none;
    int64_t id = -1;
  };
  const size_t n = word.size();
  std::vector<Node> best(n + 1);
  auto offer = [&](size_t end, size_t start, double score, int64_t id) {
    Node &t = best[end];
    if (t.start == none || score > t.score)
      t = {score, start, id};
  };
  for (size_t start = 0; start < n;) {
    size_t len = std::min(charLength(word[start]), n - start);
    double here = best[start].score;
    bool single = false;
    trie.prefixes(word, start, [&](size_t length, int64_t id) {
      offer(start + length, start, here + scores[id], id);
      single |= length == len;
    });
    if (!single) {
      if (unkId < 0) {
        std::vector<char32_t> cp;
        size_t bad;
        decodeUtf8(word.substr(start, len), cp, bad);
        error = "the Unigram model has no unk_id and no piece covers " +
                (cp.empty() ? std::string("a byte") : describe(cp[0]));
        return false;
      }
      offer(start + len, start, here + unkScore, unkId);
    }
    start += len;
  }

  // Back from the end: the segments, unknown runs fused.
  std::vector<std::pair<size_t, size_t>> segments; // [start, end), reversed
  std::vector<bool> unknown;
  for (size_t end = n; end > 0;) {
    const Node &node = best[end];
    bool unk = node.id == unkId;
    if (unk && !unknown.empty() && unknown.back())
      segments.back().first = node.start;
    else {
      segments.push_back({node.start, end});
      unknown.push_back(unk);
    }
    end = node.start;
  }
  for (size_t k = segments.size(); k-- > 0;) {
    std::string s =
        word.substr(segments[k].first, segments[k].second - segments[k].first);
    if (auto it = vocab.find(s); it != vocab.end()) {
      ids.push_back(it->second);
      continue;
    }
    bool all = byteFallback;
    for (unsigned char b : s)
      all &= byteIds[b] >= 0;
    if (all)
      for (unsigned char b : s)
        ids.push_back(byteIds[b]);
    else
      ids.push_back(unkId);
  }
  return true;
}

} // namespace

std::unique_ptr<Model> tfmc::rt::hf::makeUnigramModel(const json &node,
                                                      std::string &error) {
  auto m = std::make_unique<UnigramModel>();
  if (!m->load(node, error))
    return nullptr;
  return m;
}
