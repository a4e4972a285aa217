//===- fuzz_tokenizer.cpp - libFuzzer harness: tokenizer files ------------===//
//
// Part of tfmc. Built once per kind (TFMC_FUZZ_KIND, test/fuzz/CMakeLists.txt):
//   char            chars.json \0 text
//   byte_bpe        vocab.json \0 merges.txt \0 text
//   wordpiece       vocab.txt \0 text
//   tokenizer_json  tokenizer.json \0 text
// The files are loaded as the runtime loads them; an accepted tokenizer
// then encodes the text, decodes what it produced, and decodes ids taken
// from the text's bytes (out-of-range ids must be errors). Every id encode
// returns must lie inside the vocabulary.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "Tokenizer.h"

#ifndef TFMC_FUZZ_KIND
#error "define TFMC_FUZZ_KIND"
#endif

using tfmc::fuzz::splitInput;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string kind = TFMC_FUZZ_KIND;
  tfmc::rt::FileSource files;
  std::vector<std::string> parts =
      splitInput(data, size, kind == "byte_bpe" ? 3 : 2);
  if (kind == "char")
    files.inline_["chars.json"] = parts[0];
  else if (kind == "byte_bpe") {
    files.inline_["vocab.json"] = parts[0];
    files.inline_["merges.txt"] = parts[1];
  } else if (kind == "wordpiece")
    files.inline_["vocab.txt"] = parts[0];
  else
    files.inline_["tokenizer.json"] = parts[0];
  const std::string &text = parts.back();

  std::string error;
  std::unique_ptr<tfmc::rt::Tokenizer> tok = tfmc::rt::Tokenizer::load(
      kind, files, /*lowercase=*/!text.empty() && (text[0] & 1), error);
  if (!tok) {
    if (error.empty())
      tfmc::fuzz::violated("a tokenizer failed to load without a message");
    return 0;
  }
  std::vector<int64_t> ids;
  for (bool special : {false, true}) {
    ids.clear();
    if (!tok->encode(text, special, ids, error))
      continue;
    for (int64_t id : ids)
      if (id < 0 || static_cast<size_t>(id) >= tok->vocabSize())
        tfmc::fuzz::violated("encode produced an id outside the vocabulary");
    std::string decoded;
    if (!tok->decode(ids, special, decoded, error))
      continue;
    tok->stablePrefix(ids);
  }
  // Ids straight from the input: anything, including negative and huge.
  std::vector<int64_t> raw;
  for (size_t i = 0; i + 2 <= text.size() && raw.size() < 64; i += 2)
    raw.push_back(static_cast<int16_t>(static_cast<uint8_t>(text[i]) |
                                       static_cast<uint8_t>(text[i + 1]) << 8));
  std::string decoded;
  bool ok = tok->decode(raw, false, decoded, error);
  for (int64_t id : raw)
    if (ok && (id < 0 || static_cast<size_t>(id) >= tok->vocabSize()))
      tfmc::fuzz::violated("decode accepted an id outside the vocabulary");
  for (int64_t id : raw)
    (void)tok->token(id);
  return 0;
}
