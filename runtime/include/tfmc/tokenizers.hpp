//===- tokenizers.hpp - the tokenizer library's compile-time check -*- C++
//-*-===//
//
// Part of tfmc. The tokenizers (character-level, GPT-2 byte-level BPE, BERT
// WordPiece) are a small library of their own, linked into the runtime and
// into the compiler, which loads a model's tokenizer files with the very
// code that will read them at run time. This is the compiler's whole view
// of it; the classes stay private to runtime/src.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_TOKENIZERS_HPP
#define TFMC_TOKENIZERS_HPP

#include <cstddef>
#include <string>

namespace tfmc {

/// What loading a tokenizer found.
struct TokenizerInfo {
  bool ok = false;
  std::size_t vocabSize = 0; ///< tokens in its vocabulary
  std::string error;         ///< when !ok: the file and what is wrong
};

/// Loads the tokenizer of `kind` ("char", "byte_bpe", "wordpiece";
/// tfmc/abi.h) from the files in `directory`.
TokenizerInfo inspectTokenizer(const std::string &kind,
                               const std::string &directory, bool lowercase);

} // namespace tfmc

#endif // TFMC_TOKENIZERS_HPP
