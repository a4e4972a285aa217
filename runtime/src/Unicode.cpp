//===- Unicode.cpp - UTF-8 and Unicode properties (ICU) -------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "FileRead.h"
#include "Tokenizer.h"

#include "tfmc/limits.h"

#include <nlohmann/json.hpp>

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <cstdio>

using namespace tfmc::rt;

bool FileSource::read(const std::string &name, std::string &out,
                      std::string &error) const {
  auto it = inline_.find(name);
  if (it != inline_.end()) {
    out = it->second;
    return true;
  }
  return readFile(path(name), TFMC_MAX_TOKENIZER_FILE_BYTES, out, error);
}

bool FileSource::readJson(const std::string &name, nlohmann::json &doc,
                          std::string &error) const {
  std::string text;
  if (!read(name, text, error))
    return false;
  return parseJson(path(name), text, doc, error);
}

bool Tokenizer::checkId(int64_t id, std::string &error) const {
  if (id >= 0 && static_cast<size_t>(id) < idToToken.size())
    return true;
  error = "token id " + std::to_string(id) + " is out of range [0, " +
          std::to_string(idToToken.size()) + ")";
  return false;
}

bool Tokenizer::decodeText(const std::string &text, std::vector<char32_t> &cp,
                           std::string &error) {
  size_t bad;
  if (decodeUtf8(text, cp, bad))
    return true;
  error = "the text is not valid UTF-8 (at byte " + std::to_string(bad) + ")";
  return false;
}

bool tfmc::rt::decodeUtf8(const std::string &s, std::vector<char32_t> &out,
                          size_t &badOffset) {
  out.clear();
  out.reserve(s.size());
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char b = p[i];
    char32_t c;
    size_t len;
    if (b < 0x80) {
      c = b;
      len = 1;
    } else if ((b & 0xE0) == 0xC0) {
      c = b & 0x1F;
      len = 2;
    } else if ((b & 0xF0) == 0xE0) {
      c = b & 0x0F;
      len = 3;
    } else if ((b & 0xF8) == 0xF0) {
      c = b & 0x07;
      len = 4;
    } else {
      badOffset = i;
      return false;
    }
    if (i + len > n) {
      badOffset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        badOffset = i;
        return false;
      }
      c = (c << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    static const char32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < minimum[len] || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) {
      badOffset = i;
      return false;
    }
    out.push_back(c);
    i += len;
  }
  return true;
}

void tfmc::rt::appendUtf8(std::string &out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

static uint32_t categoryMask(char32_t c) {
  return U_GET_GC_MASK(static_cast<UChar32>(c));
}

bool tfmc::rt::isLetter(char32_t c) { return categoryMask(c) & U_GC_L_MASK; }
bool tfmc::rt::isNumber(char32_t c) { return categoryMask(c) & U_GC_N_MASK; }
bool tfmc::rt::isPunctuation(char32_t c) {
  return categoryMask(c) & U_GC_P_MASK;
}
bool tfmc::rt::isOther(char32_t c) { return categoryMask(c) & U_GC_C_MASK; }
bool tfmc::rt::isNonspacingMark(char32_t c) {
  return categoryMask(c) & U_GC_MN_MASK;
}
bool tfmc::rt::isWhiteSpace(char32_t c) {
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE);
}

static icu::UnicodeString toIcu(const std::u32string &s) {
  return icu::UnicodeString::fromUTF32(
      reinterpret_cast<const UChar32 *>(s.data()),
      static_cast<int32_t>(s.size()));
}

static std::u32string fromIcu(const icu::UnicodeString &u) {
  std::u32string out;
  for (int32_t i = 0; i < u.length();) {
    UChar32 c = u.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

std::u32string tfmc::rt::nfd(const std::u32string &s) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2 *n = icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status))
    return s;
  icu::UnicodeString out = n->normalize(toIcu(s), status);
  return U_FAILURE(status) ? s : fromIcu(out);
}

std::u32string tfmc::rt::toLower(const std::u32string &s) {
  icu::UnicodeString u = toIcu(s);
  u.toLower(icu::Locale::getRoot());
  return fromIcu(u);
}

std::string tfmc::rt::describe(char32_t c) {
  std::string out = "'";
  if (c >= 0x20 && c != 0x7F)
    appendUtf8(out, c);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "' (U+%04X)", static_cast<unsigned>(c));
  return out + buf;
}
