//===- HFPrecompiled.cpp - SentencePiece's compiled normalizer ------------===//
//
// Part of tfmc. tokenizer.json's "Precompiled" normalizer carries the
// normalization rules of a SentencePiece model (nmt_nfkc and friends) as
// SentencePiece compiled them: base64 of a little-endian u32 byte count, a
// Darts double-array trie over the UTF-8 of the strings a rule rewrites,
// and the NUL-terminated replacements the trie's values point into.
//
// Applied as Hugging Face `tokenizers` applies it (not quite as
// SentencePiece does): the text is cut into extended grapheme clusters
// (ICU's character break iterator); a cluster shorter than 6 bytes is
// replaced as a whole by the rule of the shortest key that is a prefix of
// it; otherwise, or without such a key, each of its characters is looked
// up on its own the same way and kept when no key matches.
//
// Every index read from the blob is bounds-checked: a damaged table is an
// error when it is loaded or a non-match when it is walked, never a read
// outside it.
//
//===----------------------------------------------------------------------===//

#include "HFPipeline.h"
#include "Tokenizer.h"

#include <nlohmann/json.hpp>

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/utext.h>

#include <algorithm>

using namespace tfmc::rt;
using namespace tfmc::rt::hf;
using json = nlohmann::json;

namespace {

/// Standard base64, '=' padding optional; false on any other character.
bool decodeBase64(const std::string &text, std::string &out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    char c = text[i];
    int d = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (d < 0)
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  for (; i < text.size(); ++i)
    if (text[i] != '=')
      return false;
  return bits < 6; // a lone trailing digit carries no whole byte
}

class PrecompiledNormalizer final : public Normalizer {
public:
  bool load(const std::string &blob, std::string &error);
  std::string apply(const std::string &text) const override;

private:
  /// The replacement of the shortest key that is a prefix of `chunk`.
  const char *transform(const char *chunk, size_t size) const;
  uint32_t unit(size_t pos) const {
    return pos < units.size() ? units[pos] : 0;
  }

  std::vector<uint32_t> units;
  std::string normalized; ///< NUL-terminated replacements, back to back
  std::unique_ptr<icu::BreakIterator> graphemes;
};

bool PrecompiledNormalizer::load(const std::string &blob, std::string &error) {
  if (blob.size() < 4) {
    error = "shorter than its 4-byte header";
    return false;
  }
  uint32_t trieBytes = 0;
  for (int k = 3; k >= 0; --k)
    trieBytes = (trieBytes << 8) | static_cast<unsigned char>(blob[k]);
  if (trieBytes % 4 != 0 || trieBytes == 0 || trieBytes > blob.size() - 4) {
    error = "its trie of " + std::to_string(trieBytes) +
            " bytes does not fit the " + std::to_string(blob.size()) +
            "-byte table";
    return false;
  }
  units.resize(trieBytes / 4);
  for (size_t k = 0; k < units.size(); ++k) {
    const unsigned char *p =
        reinterpret_cast<const unsigned char *>(blob.data()) + 4 + 4 * k;
    units[k] = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
               uint32_t(p[3]) << 24;
  }
  normalized = blob.substr(4 + trieBytes);
  std::vector<char32_t> cp;
  size_t bad;
  if (!decodeUtf8(normalized, cp, bad)) {
    error = "its replacement strings are not UTF-8 (at byte " +
            std::to_string(4 + trieBytes + bad) + ")";
    return false;
  }
  UErrorCode status = U_ZERO_ERROR;
  graphemes.reset(icu::BreakIterator::createCharacterInstance(
      icu::Locale::getRoot(), status));
  if (U_FAILURE(status)) {
    error = std::string("ICU has no grapheme break iterator (") +
            u_errorName(status) + ")";
    return false;
  }
  return true;
}

const char *PrecompiledNormalizer::transform(const char *chunk,
                                             size_t size) const {
  // Darts units: bit 8 has-leaf, the low byte (and bit 31) the label, the
  // offset in bits 10-30 (shifted by 8 more when bit 9 is set), a leaf's
  // value in bits 0-30.
  auto offset = [](uint32_t u) -> size_t {
    return static_cast<size_t>(u >> 10) << ((u & (1u << 9)) >> 6);
  };
  size_t node = offset(unit(0));
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = static_cast<unsigned char>(chunk[i]);
    if (c == 0)
      return nullptr;
    node ^= c;
    if (node >= units.size())
      return nullptr;
    uint32_t u = units[node];
    if ((u & ((1u << 31) | 0xFF)) != c)
      return nullptr;
    node ^= offset(u);
    if ((u >> 8) & 1) {
      if (node >= units.size())
        return nullptr;
      size_t value = units[node] & ((1u << 31) - 1);
      return value < normalized.size() ? normalized.c_str() + value : nullptr;
    }
  }
  return nullptr;
}

std::string PrecompiledNormalizer::apply(const std::string &text) const {
  std::string out;
  out.reserve(text.size());
  UErrorCode status = U_ZERO_ERROR;
  UText *ut = utext_openUTF8(nullptr, text.data(),
                             static_cast<int64_t>(text.size()), &status);
  // The iterator keeps its position: one per call (threads share `this`).
  std::unique_ptr<icu::BreakIterator> it(graphemes->clone());
  it->setText(ut, status);
  if (U_FAILURE(status)) {
    utext_close(ut);
    return text;
  }
  // Native indices of a UTF-8 UText are byte offsets.
  for (int32_t b = it->first(), e = it->next(); e != icu::BreakIterator::DONE;
       b = e, e = it->next()) {
    const char *g = text.data() + b;
    size_t size = static_cast<size_t>(e - b);
    if (size < 6)
      if (const char *r = transform(g, size)) {
        out += r;
        continue;
      }
    for (size_t k = 0; k < size;) {
      unsigned char lead = static_cast<unsigned char>(g[k]);
      size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      len = std::min(len, size - k);
      if (const char *r = transform(g + k, len))
        out += r;
      else
        out.append(g + k, len);
      k += len;
    }
  }
  utext_close(ut);
  return out;
}

} // namespace

std::unique_ptr<Normalizer>
tfmc::rt::hf::makePrecompiledNormalizer(const json &node, const JsonPath &path,
                                        std::string &error) {
  auto it = node.find("precompiled_charsmap");
  std::string key = path + ".precompiled_charsmap";
  if (it == node.end() || !it->is_string()) {
    error = key + ": expected a base64 string";
    return nullptr;
  }
  std::string blob, e;
  if (!decodeBase64(it->get<std::string>(), blob)) {
    error = key + ": not valid base64";
    return nullptr;
  }
  auto n = std::make_unique<PrecompiledNormalizer>();
  if (!n->load(blob, e)) {
    error = key + ": " + e;
    return nullptr;
  }
  return n;
}
