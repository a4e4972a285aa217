//===- TextStream.cpp - streaming the text of a generation ----------------===//
//
// Part of tfmc. tfmc_text_stream (runtime.h): what tfmc-run prints and the
// Python package yields while tokens are generated one at a time.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>

using namespace tfmc::rt;

static tfmc_status decode(const tfmc_tokenizer *t,
                          const std::vector<int64_t> &ids, std::string &out) {
  char *text = nullptr;
  size_t n = 0;
  if (tfmc_status s = tfmc_tokenizer_decode(t, ids.data(), ids.size(),
                                            /*skip_special=*/1, &text, &n))
    return s;
  out.assign(text, n);
  tfmc_free(text);
  return TFMC_OK;
}

/// Moves the decodable prefix of `pending` to `out` as valid UTF-8: each
/// maximal invalid subsequence becomes U+FFFD (as Rust's from_utf8_lossy and
/// so Hugging Face's decoders do). An incomplete character at the end stays
/// in `pending` unless `final`.
static void drainUtf8(std::string &pending, bool final, std::string &out) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  size_t i = 0, n = pending.size();
  auto byte = [&](size_t k) { return static_cast<unsigned char>(pending[k]); };
  while (i < n) {
    unsigned char c = byte(i);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF; // range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    }
    if (len == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k < len && i + k < n; ++k) {
      unsigned char b = byte(i + k);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
        break;
    }
    if (k == len) {
      out.append(pending, i, len);
      i += len;
    } else if (i + k == n && !final) {
      break; // may complete with the next token
    } else {
      out += kReplacement;
      i += k;
    }
  }
  pending.erase(0, i);
}

/// Streams generated text as the tokenizer decodes the whole sequence:
/// SentencePiece-style decoders strip and join across tokens, so a token
/// alone does not decode to its part of the text. Each step decodes the
/// context plus what was generated and writes what is new, holding back
/// what a later token may still change: trailing byte-fallback tokens, an
/// incomplete character, a U+FFFD a later byte may complete.
struct tfmc_text_stream {
  tfmc_text_stream(const tfmc_tokenizer *tok, std::vector<int64_t> context,
                   std::string base)
      : tok(tok), ids(std::move(context)), base(std::move(base)) {}
  /// The text not written yet (all of it when `final`).
  tfmc_status take(bool final, std::string &out) {
    // What follows the context's text; where a generated token changes
    // how the context decodes (byte tokens that join the prompt's last
    // character), what follows the common prefix, at a character boundary.
    std::vector<int64_t> shown(
        ids.begin(), ids.begin() + (final ? ids.size()
                                          : tfmc_tokenizer_stable_prefix(
                                                tok, ids.data(), ids.size())));
    std::string full;
    if (tfmc_status s = decode(tok, shown, full))
      return s;
    size_t common = 0;
    while (common < full.size() && common < base.size() &&
           full[common] == base[common])
      ++common;
    if (common < base.size())
      while (common > 0 &&
             (static_cast<unsigned char>(full[common]) & 0xC0) == 0x80)
        --common;
    std::string pending = full.substr(common);
    std::string ready;
    drainUtf8(pending, final, ready);
    static const std::string kReplacement = "\xEF\xBF\xBD";
    while (!final && ready.size() >= 3 &&
           ready.compare(ready.size() - 3, 3, kReplacement) == 0)
      ready.resize(ready.size() - 3);
    out = ready.size() <= written ? std::string() : ready.substr(written);
    written = std::max(written, ready.size());
    return TFMC_OK;
  }

  const tfmc_tokenizer *tok;
  std::vector<int64_t> ids;
  std::string base;   ///< the context's text
  size_t written = 0; ///< bytes past `base` already written
};

extern "C" tfmc_status tfmc_text_stream_create(const tfmc_tokenizer *tokenizer,
                                               const int64_t *context,
                                               size_t count,
                                               tfmc_text_stream **stream) {
  if (!tokenizer || !stream || (count && !context))
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_text_stream_create: null argument");
  *stream = nullptr;
  std::vector<int64_t> ids(context, context + count);
  std::string base;
  if (tfmc_status s = decode(tokenizer, ids, base))
    return s;
  *stream = new tfmc_text_stream(tokenizer, std::move(ids), std::move(base));
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_text_stream_push(tfmc_text_stream *stream,
                                             const int64_t *ids, size_t count,
                                             int final, char **text,
                                             size_t *length) {
  if (!stream || !text || (count && !ids))
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_text_stream_push: null argument");
  stream->ids.insert(stream->ids.end(), ids, ids + count);
  std::string out;
  if (tfmc_status s = stream->take(final != 0, out))
    return s;
  *text = static_cast<char *>(std::malloc(out.size() + 1));
  if (!*text)
    return fail(TFMC_ERROR_OUT_OF_MEMORY, "out of memory");
  std::memcpy(*text, out.data(), out.size());
  (*text)[out.size()] = 0;
  if (length)
    *length = out.size();
  return TFMC_OK;
}

extern "C" void tfmc_text_stream_destroy(tfmc_text_stream *stream) {
  delete stream;
}
