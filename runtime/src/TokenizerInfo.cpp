//===- TokenizerInfo.cpp - the tokenizer library's compile-time check -----===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfmc/tokenizers.hpp"

#include "Tokenizer.h"

tfmc::TokenizerInfo tfmc::inspectTokenizer(const std::string &kind,
                                           const std::string &directory,
                                           bool lowercase) {
  TokenizerInfo info;
  rt::FileSource files;
  files.directory = directory;
  std::unique_ptr<rt::Tokenizer> tok =
      rt::Tokenizer::load(kind, files, lowercase, info.error);
  if (!tok)
    return info;
  info.ok = true;
  info.vocabSize = tok->vocabSize();
  return info;
}
