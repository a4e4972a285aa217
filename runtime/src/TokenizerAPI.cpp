//===- TokenizerAPI.cpp - the tokenizer C API -----------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

using namespace tfmc::rt;

extern "C" void tfmc_free(void *p) { std::free(p); }

extern "C" tfmc_status tfmc_model_tokenizer(tfmc_model *model,
                                            const tfmc_tokenizer **out) {
  if (!model || !out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_model_tokenizer: null");
  *out = nullptr;
  const TokenizerSpec &spec = model->manifest.tokenizer;
  if (spec.kind.empty())
    return fail(TFMC_ERROR_NOT_FOUND,
                "the model has no tokenizer (give one in the model file's "
                "[tokenizer] table, or compile a Hugging Face folder with its "
                "vocabulary files)");
  std::lock_guard<std::mutex> lock(model->tokenizerMutex);
  if (!model->tokenizer) {
    FileSource files;
    files.directory = model->embedded ? std::string() : model->directory;
    files.inline_ = spec.inlineFiles;
    std::string error;
    auto t = Tokenizer::load(spec.kind, files, spec.lowercase, error);
    if (!t)
      return fail(TFMC_ERROR_FORMAT, error);
    model->tokenizer = std::make_unique<tfmc_tokenizer>();
    model->tokenizer->impl = std::move(t);
  }
  *out = model->tokenizer.get();
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_tokenizer_open(const char *kind,
                                           const char *directory, int lowercase,
                                           tfmc_tokenizer **out) {
  if (!kind || !directory || !out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_tokenizer_open: null");
  *out = nullptr;
  FileSource files;
  files.directory = directory;
  std::string error;
  auto t = Tokenizer::load(kind, files, lowercase != 0, error);
  if (!t)
    return fail(TFMC_ERROR_FORMAT, error);
  *out = new tfmc_tokenizer{std::move(t)};
  return TFMC_OK;
}

extern "C" void tfmc_tokenizer_destroy(tfmc_tokenizer *tok) { delete tok; }

extern "C" tfmc_status tfmc_tokenizer_encode(const tfmc_tokenizer *tok,
                                             const char *text, size_t length,
                                             int addSpecial, int64_t **ids,
                                             size_t *count) {
  if (!tok || (!text && length) || !ids || !count)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_tokenizer_encode: null");
  if (addSpecial < TFMC_ENCODE_PLAIN || addSpecial > TFMC_ENCODE_SOURCE)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_tokenizer_encode: add_special must be one of "
                "TFMC_ENCODE_PLAIN, _FRAMED, _PROMPT, _SOURCE");
  std::vector<int64_t> out;
  std::string error;
  bool framed = addSpecial == TFMC_ENCODE_FRAMED ||
                (addSpecial == TFMC_ENCODE_SOURCE && tok->impl->framesSource());
  if (!tok->impl->encode(std::string(text ? text : "", length), framed, out,
                         error))
    return fail(TFMC_ERROR_INVALID_ARGUMENT, error);
  if (addSpecial == TFMC_ENCODE_PROMPT) {
    std::vector<int64_t> prefix = tok->impl->promptPrefix();
    out.insert(out.begin(), prefix.begin(), prefix.end());
  }
  *ids =
      static_cast<int64_t *>(std::malloc((out.size() + 1) * sizeof(int64_t)));
  if (!*ids)
    return fail(TFMC_ERROR_OUT_OF_MEMORY, "out of memory");
  std::copy(out.begin(), out.end(), *ids);
  *count = out.size();
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_tokenizer_decode(const tfmc_tokenizer *tok,
                                             const int64_t *ids, size_t count,
                                             int skipSpecial, char **text,
                                             size_t *length) {
  if (!tok || (!ids && count) || !text)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_tokenizer_decode: null");
  std::string out, error;
  if (!tok->impl->decode(std::vector<int64_t>(ids, ids + count),
                         skipSpecial != 0, out, error))
    return fail(TFMC_ERROR_RANGE, error);
  *text = static_cast<char *>(std::malloc(out.size() + 1));
  if (!*text)
    return fail(TFMC_ERROR_OUT_OF_MEMORY, "out of memory");
  std::memcpy(*text, out.data(), out.size());
  (*text)[out.size()] = '\0';
  if (length)
    *length = out.size();
  return TFMC_OK;
}

extern "C" size_t tfmc_tokenizer_stable_prefix(const tfmc_tokenizer *tok,
                                               const int64_t *ids,
                                               size_t count) {
  if (!tok || (!ids && count))
    return 0;
  return tok->impl->stablePrefix(std::vector<int64_t>(ids, ids + count));
}

extern "C" int64_t tfmc_tokenizer_special(const tfmc_tokenizer *tok,
                                          const char *role) {
  if (!tok || !role)
    return -1;
  return tok->impl->special(role).value_or(-1);
}

extern "C" size_t tfmc_tokenizer_vocab_size(const tfmc_tokenizer *tok) {
  return tok ? tok->impl->vocabSize() : 0;
}
