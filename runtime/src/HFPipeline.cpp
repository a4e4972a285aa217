//===- HFPipeline.cpp - tokenizer.json's normalizers, splitters, decoders -===//
//
// Part of tfmc. Each class reproduces one component of Hugging Face
// `tokenizers` (0.15, and the fields later versions added) on UTF-8
// strings: what it changes, where it splits, and what it leaves alone.
// Regular expressions and Unicode normalization come from ICU.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"

#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

#include <algorithm>
#include <functional>
#include <iterator>

using namespace tfmc::rt;
using namespace tfmc::rt::hf;
using json = nlohmann::json;

//===----------------------------------------------------------------------===//
// Regular expressions, UTF-8, the byte alphabet
//===----------------------------------------------------------------------===//

bool Regex::compile(const std::string &source, bool literal,
                    std::string &error) {
  // Oniguruma's \s and \S (as Hugging Face compiles them) are Unicode
  // White_Space; ICU's \s is narrower (no VT, no NEL).
  std::string translated;
  for (size_t i = 0; i < source.size(); ++i) {
    if (!literal && source[i] == '\\' && i + 1 < source.size()) {
      char c = source[++i];
      if (c == 's')
        translated += "\\p{White_Space}";
      else if (c == 'S')
        translated += "\\P{White_Space}";
      else
        (translated += '\\') += c;
      continue;
    }
    translated += source[i];
  }
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse;
  pattern =
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(translated),
                                 literal ? UREGEX_LITERAL : 0, parse, status);
  if (U_FAILURE(status)) {
    error = "cannot compile the regular expression '" + source + "' (offset " +
            std::to_string(parse.offset) + ": " + u_errorName(status) + ")";
    pattern = nullptr;
    return false;
  }
  return true;
}

Regex::~Regex() { delete static_cast<icu::RegexPattern *>(pattern); }

std::vector<std::pair<size_t, size_t>>
Regex::find(const std::string &text) const {
  std::vector<std::pair<size_t, size_t>> out;
  UErrorCode status = U_ZERO_ERROR;
  UText *ut = utext_openUTF8(nullptr, text.data(),
                             static_cast<int64_t>(text.size()), &status);
  std::unique_ptr<icu::RegexMatcher> m(
      static_cast<icu::RegexPattern *>(pattern)->matcher(status));
  if (U_FAILURE(status)) {
    utext_close(ut);
    return out;
  }
  // Native indices of a UTF-8 UText are byte offsets.
  m->reset(ut);
  while (m->find(status) && U_SUCCESS(status)) {
    int64_t b = m->start64(status), e = m->end64(status);
    if (e > b)
      out.push_back({static_cast<size_t>(b), static_cast<size_t>(e)});
  }
  m.reset();
  utext_close(ut);
  return out;
}

const ByteAlphabet &ByteAlphabet::get() {
  static const ByteAlphabet alphabet = [] {
    ByteAlphabet a;
    std::fill(std::begin(a.byteOf), std::end(a.byteOf), int16_t(-1));
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) ||
                       (b >= 174 && b <= 255);
      char32_t c = printable ? static_cast<char32_t>(b) : 256 + extra++;
      appendUtf8(a.byteToChar[b], c);
      a.byteOf[c] = static_cast<int16_t>(b);
    }
    return a;
  }();
  return alphabet;
}

bool ByteAlphabet::charToByte(char32_t c, unsigned char &b) const {
  if (c >= std::size(byteOf) || byteOf[c] < 0)
    return false;
  b = static_cast<unsigned char>(byteOf[c]);
  return true;
}

std::string tfmc::rt::hf::utf8Lossy(const std::string &s) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char b = p[i];
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // The lead byte fixes the length and the second byte's range
    // (Unicode's table of well-formed sequences).
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
      len = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0)
        lo = 0xA0;
      if (b == 0xED)
        hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0)
        lo = 0x90;
      if (b == 0xF4)
        hi = 0x8F;
    }
    size_t k = 1;
    if (len) {
      for (; k < len && i + k < n; ++k) {
        unsigned char c = p[i + k];
        bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
        if (!ok)
          break;
      }
    }
    if (len && k == len) {
      out.append(s, i, len);
      i += len;
    } else {
      out += kReplacement; // the maximal invalid subpart: bytes [i, i + k)
      i += k;
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Reading nodes
//===----------------------------------------------------------------------===//

namespace {

/// Reads the fields of one JSON object; the first problem is kept in
/// `error`, naming the path.
struct Fields {
  const json &node;
  const JsonPath &path;
  std::string &error;

  bool fail(const std::string &key, const std::string &what) {
    if (error.empty())
      error = path + (key.empty() ? "" : "." + key) + ": " + what;
    return false;
  }
  const json *find(const char *key) {
    auto it = node.find(key);
    return it == node.end() || it->is_null() ? nullptr : &*it;
  }
  bool string(const char *key, std::string &out) {
    const json *v = find(key);
    if (!v || !v->is_string())
      return fail(key, "expected a string");
    out = v->get<std::string>();
    return true;
  }
  bool character(const char *key, char32_t &out) {
    std::string s;
    std::vector<char32_t> cp;
    size_t bad;
    if (!string(key, s))
      return false;
    if (!decodeUtf8(s, cp, bad) || cp.size() != 1)
      return fail(key, "expected a single character");
    out = cp[0];
    return true;
  }
  bool boolean(const char *key, bool &out, bool dflt) {
    const json *v = find(key);
    if (!v) {
      out = dflt;
      return true;
    }
    if (!v->is_boolean())
      return fail(key, "expected true or false");
    out = v->get<bool>();
    return true;
  }
  bool count(const char *key, size_t &out) {
    const json *v = find(key);
    if (!v || !v->is_number_unsigned())
      return fail(key, "expected a non-negative integer");
    out = v->get<size_t>();
    return true;
  }
  /// {"String": s} or {"Regex": r}.
  bool pattern(const char *key, Regex &re) {
    const json *v = find(key);
    if (!v || !v->is_object() || v->size() != 1 ||
        !(v->contains("String") || v->contains("Regex")) ||
        !v->begin()->is_string())
      return fail(key, "expected {\"String\": ...} or {\"Regex\": ...}");
    bool literal = v->contains("String");
    std::string e;
    if (!re.compile(v->begin()->get<std::string>(), literal, e))
      return fail(key, e);
    return true;
  }
  /// The node's "type" when it is one of `known`.
  bool type(std::string &out, std::initializer_list<const char *> known,
            const char *what) {
    if (!node.is_object())
      return fail("", "expected an object");
    if (!string("type", out))
      return false;
    for (const char *k : known)
      if (out == k)
        return true;
    std::string list;
    for (const char *k : known)
      list += (list.empty() ? "" : ", ") + std::string(k);
    return fail("type", "unsupported " + std::string(what) + " '" + out +
                            "' (tfmc reads " + list + ")");
  }
};

/// The text with each match of `re` replaced by `content`.
std::string replaceAll(const std::string &text, const Regex &re,
                       const std::string &content) {
  std::string out;
  size_t at = 0;
  for (auto [b, e] : re.find(text)) {
    out.append(text, at, b - at);
    out += content;
    at = e;
  }
  out.append(text, at, std::string::npos);
  return out;
}

std::u32string codePoints(const std::string &s) {
  std::vector<char32_t> cp;
  size_t bad;
  decodeUtf8(s, cp, bad);
  return std::u32string(cp.begin(), cp.end());
}

std::string utf8(const std::u32string &s) {
  std::string out;
  for (char32_t c : s)
    appendUtf8(out, c);
  return out;
}

//===----------------------------------------------------------------------===//
// Normalizers
//===----------------------------------------------------------------------===//

class SequenceNormalizer final : public Normalizer {
public:
  std::vector<std::unique_ptr<Normalizer>> parts;
  std::string apply(const std::string &text) const override {
    std::string s = text;
    for (const auto &p : parts)
      s = p->apply(s);
    return s;
  }
};

class PrependNormalizer final : public Normalizer {
public:
  std::string prefix;
  std::string apply(const std::string &text) const override {
    return text.empty() ? text : prefix + text;
  }
};

class ReplaceNormalizer final : public Normalizer {
public:
  Regex pattern;
  std::string content;
  std::string apply(const std::string &text) const override {
    return replaceAll(text, pattern, content);
  }
};

class UnicodeNormalizer final : public Normalizer {
public:
  const icu::Normalizer2 *form = nullptr;
  std::string apply(const std::string &text) const override {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString out =
        form->normalize(icu::UnicodeString::fromUTF8(text), status);
    std::string s;
    return U_FAILURE(status) ? text : out.toUTF8String(s);
  }
};

class FunctionNormalizer final : public Normalizer {
public:
  std::function<std::u32string(const std::u32string &)> fn;
  std::string apply(const std::string &text) const override {
    return utf8(fn(codePoints(text)));
  }
};

/// One split of a string: [begin, end) and whether it matched.
struct Segment {
  size_t begin, end;
  bool match;
};

enum class Behavior {
  Removed,
  Isolated,
  MergedWithPrevious,
  MergedWithNext,
  Contiguous
};

/// Splits `piece` at `matches` as NormalizedString::split does.
void splitPiece(const Piece &piece,
                const std::vector<std::pair<size_t, size_t>> &matches,
                Behavior behavior, bool invert, Pieces &out) {
  const std::string &text = piece.text;
  std::vector<Segment> segs;
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (b > prev)
      segs.push_back({prev, b, invert});
    segs.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < text.size())
    segs.push_back({prev, text.size(), invert});

  // (begin, end, removed)
  std::vector<Segment> kept;
  bool previousMatch = false;
  switch (behavior) {
  case Behavior::Removed:
  case Behavior::Isolated:
    for (const Segment &s : segs)
      kept.push_back(
          {s.begin, s.end, behavior == Behavior::Removed && s.match});
    break;
  case Behavior::Contiguous:
    for (const Segment &s : segs) {
      if (s.match == previousMatch && !kept.empty())
        kept.back().end = s.end;
      else
        kept.push_back({s.begin, s.end, false});
      previousMatch = s.match;
    }
    break;
  case Behavior::MergedWithPrevious:
    for (const Segment &s : segs) {
      if (s.match && !previousMatch && !kept.empty())
        kept.back().end = s.end;
      else
        kept.push_back({s.begin, s.end, false});
      previousMatch = s.match;
    }
    break;
  case Behavior::MergedWithNext:
    for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
      if (it->match && !previousMatch && !kept.empty())
        kept.back().begin = it->begin;
      else
        kept.push_back({it->begin, it->end, false});
      previousMatch = it->match;
    }
    std::reverse(kept.begin(), kept.end());
    break;
  }
  for (const Segment &s : kept)
    if (!s.match && s.end > s.begin)
      out.push_back({text.substr(s.begin, s.end - s.begin), -1});
}

/// Each code point satisfying `pred` as its own match.
std::vector<std::pair<size_t, size_t>>
charMatches(const std::string &text,
            const std::function<bool(char32_t)> &pred) {
  std::vector<std::pair<size_t, size_t>> out;
  std::vector<char32_t> cp;
  size_t bad, at = 0;
  decodeUtf8(text, cp, bad);
  for (char32_t c : cp) {
    std::string u;
    appendUtf8(u, c);
    if (pred(c))
      out.push_back({at, at + u.size()});
    at += u.size();
  }
  return out;
}

/// Applies `fn` to every piece that is not an added token.
template <typename Fn> void eachPiece(Pieces &pieces, Fn &&fn) {
  Pieces out;
  for (Piece &p : pieces) {
    if (p.addedId >= 0)
      out.push_back(std::move(p));
    else
      fn(p, out);
  }
  pieces.swap(out);
}

//===----------------------------------------------------------------------===//
// Pre-tokenizers
//===----------------------------------------------------------------------===//

class SequencePreTokenizer final : public PreTokenizer {
public:
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  void apply(Pieces &pieces) const override {
    for (const auto &p : parts)
      p->apply(pieces);
  }
};

class SplitPreTokenizer final : public PreTokenizer {
public:
  Regex pattern;
  Behavior behavior = Behavior::Isolated;
  bool invert = false;
  void apply(Pieces &pieces) const override {
    eachPiece(pieces, [&](Piece &p, Pieces &out) {
      splitPiece(p, pattern.find(p.text), behavior, invert, out);
    });
  }
};

class CharSplitPreTokenizer final : public PreTokenizer {
public:
  std::function<bool(char32_t)> pred;
  Behavior behavior = Behavior::Removed;
  void apply(Pieces &pieces) const override {
    eachPiece(pieces, [&](Piece &p, Pieces &out) {
      splitPiece(p, charMatches(p.text, pred), behavior, false, out);
    });
  }
};

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
  bool addPrefixSpace = false, useRegex = true;
  Regex gpt2;
  void apply(Pieces &pieces) const override {
    const ByteAlphabet &a = ByteAlphabet::get();
    eachPiece(pieces, [&](Piece &p, Pieces &out) {
      if (addPrefixSpace && (p.text.empty() || p.text[0] != ' '))
        p.text = " " + p.text;
      Pieces words;
      if (useRegex)
        splitPiece(p, gpt2.find(p.text), Behavior::Isolated, false, words);
      else if (!p.text.empty())
        words.push_back(p);
      for (Piece &w : words) {
        std::string mapped;
        for (unsigned char b : w.text)
          mapped += a.byteToChar[b];
        w.text = std::move(mapped);
        out.push_back(std::move(w));
      }
    });
  }
};

enum class Prepend { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer {
public:
  std::string replacement;
  bool addPrefixSpace = true, split = true;
  Prepend scheme = Prepend::Always;
  void apply(Pieces &pieces) const override {
    // "first" is the first split that reaches the pre-tokenizer (added
    // tokens before it do not count), as `tokenizers` 0.15 decides it.
    bool first = true;
    eachPiece(pieces, [&](Piece &p, Pieces &out) {
      std::string s;
      for (char c : p.text)
        s += c == ' ' ? replacement : std::string(1, c);
      bool starts = s.compare(0, replacement.size(), replacement) == 0;
      if (addPrefixSpace && !starts) {
        if (scheme == Prepend::Always || (scheme == Prepend::First && first))
          s = replacement + s;
      }
      first = false;
      Piece q{s, -1};
      if (!split) {
        if (!s.empty())
          out.push_back(std::move(q));
        return;
      }
      std::vector<std::pair<size_t, size_t>> m;
      for (size_t at = s.find(replacement); at != std::string::npos;
           at = s.find(replacement, at + replacement.size()))
        m.push_back({at, at + replacement.size()});
      splitPiece(q, m, Behavior::MergedWithNext, false, out);
    });
  }
};

//===----------------------------------------------------------------------===//
// Decoders
//===----------------------------------------------------------------------===//

class SequenceDecoder final : public Decoder {
public:
  std::vector<std::unique_ptr<Decoder>> parts;
  void apply(std::vector<std::string> &tokens) const override {
    for (const auto &p : parts)
      p->apply(tokens);
  }
  bool joinsByteTokens() const override {
    for (const auto &p : parts)
      if (p->joinsByteTokens())
        return true;
    return false;
  }
};

class ByteLevelDecoder final : public Decoder {
public:
  void apply(std::vector<std::string> &tokens) const override {
    const ByteAlphabet &a = ByteAlphabet::get();
    std::string bytes;
    for (const std::string &t : tokens) {
      std::string mapped;
      bool ok = true;
      for (char32_t c : codePoints(t)) {
        unsigned char b;
        if (!(ok = a.charToByte(c, b)))
          break;
        mapped += static_cast<char>(b);
      }
      bytes += ok ? mapped : t; // a token outside the alphabet as it is
    }
    tokens = {utf8Lossy(bytes)};
  }
};

class ReplaceDecoder final : public Decoder {
public:
  Regex pattern;
  std::string content;
  void apply(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens)
      t = replaceAll(t, pattern, content);
  }
};

class ByteFallbackDecoder final : public Decoder {
public:
  bool joinsByteTokens() const override { return true; }
  void apply(std::vector<std::string> &tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t count = 0;
    auto flush = [&] {
      if (!count)
        return;
      std::vector<char32_t> cp;
      size_t bad;
      if (decodeUtf8(bytes, cp, bad))
        out.push_back(bytes);
      else
        for (size_t i = 0; i < count; ++i)
          out.push_back("\xEF\xBF\xBD");
      bytes.clear();
      count = 0;
    };
    auto hex = [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c));
    };
    for (std::string &t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          hex(t[3]) && hex(t[4])) {
        bytes += static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16));
        ++count;
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens.swap(out);
  }
};

class FuseDecoder final : public Decoder {
public:
  void apply(std::vector<std::string> &tokens) const override {
    std::string all;
    for (const std::string &t : tokens)
      all += t;
    tokens = {all};
  }
};

class StripDecoder final : public Decoder {
public:
  char32_t content = U' ';
  size_t start = 0, stop = 0;
  void apply(std::vector<std::string> &tokens) const override {
    for (std::string &t : tokens) {
      std::u32string cp = codePoints(t);
      size_t b = 0, e = cp.size();
      while (b < std::min(start, cp.size()) && cp[b] == content)
        ++b;
      for (size_t i = 0;
           i < std::min(stop, cp.size() - b) && cp[e - 1] == content; ++i)
        --e;
      t = utf8(cp.substr(b, e - b));
    }
  }
};

class MetaspaceDecoder final : public Decoder {
public:
  char32_t replacement = U'\u2581';
  bool dropFirst = true;
  void apply(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::u32string out;
      for (char32_t c : codePoints(tokens[i]))
        if (c != replacement)
          out += c;
        else if (!(i == 0 && dropFirst))
          out += U' ';
      tokens[i] = utf8(out);
    }
  }
};

class BPESuffixDecoder final : public Decoder {
public:
  std::string suffix;
  void apply(std::vector<std::string> &tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string &t = tokens[i];
      std::string with = i + 1 == tokens.size() ? "" : " ";
      std::string out;
      for (size_t at = 0;;) {
        size_t f = suffix.empty() ? std::string::npos : t.find(suffix, at);
        out.append(t, at, f == std::string::npos ? std::string::npos : f - at);
        if (f == std::string::npos)
          break;
        out += with;
        at = f + suffix.size();
      }
      t = out;
    }
  }
};

bool behaviorOf(const std::string &name, Behavior &b) {
  static const std::pair<const char *, Behavior> kNames[] = {
      {"Removed", Behavior::Removed},
      {"Isolated", Behavior::Isolated},
      {"MergedWithPrevious", Behavior::MergedWithPrevious},
      {"MergedWithNext", Behavior::MergedWithNext},
      {"Contiguous", Behavior::Contiguous}};
  for (auto [n, v] : kNames)
    if (name == n) {
      b = v;
      return true;
    }
  return false;
}

std::string item(const JsonPath &path, const char *key, size_t i) {
  return path + "." + key + "[" + std::to_string(i) + "]";
}

} // namespace

//===----------------------------------------------------------------------===//
// Building from JSON
//===----------------------------------------------------------------------===//

std::unique_ptr<Normalizer> tfmc::rt::hf::makeNormalizer(const json &node,
                                                         const JsonPath &path,
                                                         std::string &error) {
  Fields f{node, path, error};
  std::string type;
  if (!f.type(type,
              {"Sequence", "Prepend", "Replace", "NFC", "NFD", "NFKC", "NFKD",
               "Lowercase", "Strip", "StripAccents", "Precompiled"},
              "normalizer"))
    return nullptr;
  if (type == "Precompiled")
    return makePrecompiledNormalizer(node, path, error);
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceNormalizer>();
    const json *parts = f.find("normalizers");
    if (!parts || !parts->is_array()) {
      f.fail("normalizers", "expected an array");
      return nullptr;
    }
    for (size_t i = 0; i < parts->size(); ++i) {
      auto p = makeNormalizer((*parts)[i], item(path, "normalizers", i), error);
      if (!p)
        return nullptr;
      seq->parts.push_back(std::move(p));
    }
    return seq;
  }
  if (type == "Prepend") {
    auto p = std::make_unique<PrependNormalizer>();
    return f.string("prepend", p->prefix) ? std::move(p) : nullptr;
  }
  if (type == "Replace") {
    auto r = std::make_unique<ReplaceNormalizer>();
    if (!f.pattern("pattern", r->pattern) || !f.string("content", r->content))
      return nullptr;
    return r;
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    UErrorCode status = U_ZERO_ERROR;
    auto u = std::make_unique<UnicodeNormalizer>();
    u->form = type == "NFC"    ? icu::Normalizer2::getNFCInstance(status)
              : type == "NFD"  ? icu::Normalizer2::getNFDInstance(status)
              : type == "NFKC" ? icu::Normalizer2::getNFKCInstance(status)
                               : icu::Normalizer2::getNFKDInstance(status);
    if (U_FAILURE(status)) {
      f.fail("type", "ICU has no " + type + " normalizer");
      return nullptr;
    }
    return u;
  }
  auto fn = std::make_unique<FunctionNormalizer>();
  if (type == "Lowercase") {
    fn->fn = [](const std::u32string &s) { return toLower(s); };
  } else if (type == "StripAccents") {
    fn->fn = [](const std::u32string &s) {
      std::u32string out;
      for (char32_t c : s)
        if (!isNonspacingMark(c))
          out += c;
      return out;
    };
  } else { // Strip
    bool left, right;
    if (!f.boolean("strip_left", left, true) ||
        !f.boolean("strip_right", right, true))
      return nullptr;
    fn->fn = [left, right](const std::u32string &s) {
      size_t b = 0, e = s.size();
      while (left && b < e && isWhiteSpace(s[b]))
        ++b;
      while (right && e > b && isWhiteSpace(s[e - 1]))
        --e;
      return s.substr(b, e - b);
    };
  }
  return fn;
}

std::unique_ptr<PreTokenizer>
tfmc::rt::hf::makePreTokenizer(const json &node, const JsonPath &path,
                               std::string &error) {
  Fields f{node, path, error};
  std::string type;
  if (!f.type(type,
              {"Sequence", "Split", "ByteLevel", "Metaspace", "WhitespaceSplit",
               "Digits"},
              "pre-tokenizer"))
    return nullptr;
  if (type == "Sequence") {
    auto seq = std::make_unique<SequencePreTokenizer>();
    const json *parts = f.find("pretokenizers");
    if (!parts || !parts->is_array()) {
      f.fail("pretokenizers", "expected an array");
      return nullptr;
    }
    for (size_t i = 0; i < parts->size(); ++i) {
      auto p =
          makePreTokenizer((*parts)[i], item(path, "pretokenizers", i), error);
      if (!p)
        return nullptr;
      seq->parts.push_back(std::move(p));
    }
    return seq;
  }
  if (type == "Split") {
    auto s = std::make_unique<SplitPreTokenizer>();
    std::string behavior;
    if (!f.pattern("pattern", s->pattern) || !f.string("behavior", behavior) ||
        !f.boolean("invert", s->invert, false))
      return nullptr;
    if (!behaviorOf(behavior, s->behavior)) {
      f.fail("behavior", "unknown split behavior '" + behavior + "'");
      return nullptr;
    }
    return s;
  }
  if (type == "ByteLevel") {
    auto b = std::make_unique<ByteLevelPreTokenizer>();
    if (!f.boolean("add_prefix_space", b->addPrefixSpace, true) ||
        !f.boolean("use_regex", b->useRegex, true))
      return nullptr;
    std::string e;
    if (!b->gpt2.compile("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                         "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                         false, e)) {
      f.fail("", e);
      return nullptr;
    }
    return b;
  }
  if (type == "Metaspace") {
    auto m = std::make_unique<MetaspacePreTokenizer>();
    char32_t r;
    if (!f.character("replacement", r) ||
        !f.boolean("add_prefix_space", m->addPrefixSpace, true) ||
        !f.boolean("split", m->split, true))
      return nullptr;
    appendUtf8(m->replacement, r);
    if (const json *s = f.find("prepend_scheme")) {
      std::string scheme = s->is_string() ? s->get<std::string>() : "";
      if (scheme == "always")
        m->scheme = Prepend::Always;
      else if (scheme == "first")
        m->scheme = Prepend::First;
      else if (scheme == "never")
        m->scheme = Prepend::Never;
      else {
        f.fail("prepend_scheme", "expected \"always\", \"first\" or \"never\"");
        return nullptr;
      }
    }
    return m;
  }
  auto c = std::make_unique<CharSplitPreTokenizer>();
  if (type == "WhitespaceSplit") {
    c->pred = isWhiteSpace;
    c->behavior = Behavior::Removed;
  } else { // Digits
    bool individual;
    if (!f.boolean("individual_digits", individual, false))
      return nullptr;
    c->pred = [](char32_t ch) { return ch >= U'0' && ch <= U'9'; };
    c->behavior = individual ? Behavior::Isolated : Behavior::Contiguous;
  }
  return c;
}

std::unique_ptr<Decoder> tfmc::rt::hf::makeDecoder(const json &node,
                                                   const JsonPath &path,
                                                   std::string &error) {
  Fields f{node, path, error};
  std::string type;
  if (!f.type(type,
              {"Sequence", "ByteLevel", "Replace", "ByteFallback", "Fuse",
               "Strip", "Metaspace", "BPEDecoder"},
              "decoder"))
    return nullptr;
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceDecoder>();
    const json *parts = f.find("decoders");
    if (!parts || !parts->is_array()) {
      f.fail("decoders", "expected an array");
      return nullptr;
    }
    for (size_t i = 0; i < parts->size(); ++i) {
      auto p = makeDecoder((*parts)[i], item(path, "decoders", i), error);
      if (!p)
        return nullptr;
      seq->parts.push_back(std::move(p));
    }
    return seq;
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback")
    return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse")
    return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    auto r = std::make_unique<ReplaceDecoder>();
    if (!f.pattern("pattern", r->pattern) || !f.string("content", r->content))
      return nullptr;
    return r;
  }
  if (type == "Strip") {
    auto s = std::make_unique<StripDecoder>();
    if (!f.character("content", s->content) || !f.count("start", s->start) ||
        !f.count("stop", s->stop))
      return nullptr;
    return s;
  }
  if (type == "Metaspace") {
    auto m = std::make_unique<MetaspaceDecoder>();
    bool prefix;
    if (!f.character("replacement", m->replacement) ||
        !f.boolean("add_prefix_space", prefix, true))
      return nullptr;
    const json *s = f.find("prepend_scheme");
    m->dropFirst = prefix && !(s && s->is_string() && *s == "never");
    return m;
  }
  auto b = std::make_unique<BPESuffixDecoder>(); // BPEDecoder
  if (const json *s = f.find("suffix"); s && s->is_string())
    b->suffix = s->get<std::string>();
  else
    b->suffix = "</w>";
  return b;
}
