//===- Abi.h - the compiler's view of the shared names -----------*- C++
//-*-===//
//
// Part of tfmc. runtime/include/tfmc/abi.h, the table of names shared by
// the compiler and the runtime, as C++ helpers.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_SUPPORT_ABI_H
#define TFM_SUPPORT_ABI_H

#include "tfmc/abi.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::tfm {

/// Every tokenizer kind the runtime implements.
inline llvm::ArrayRef<const char *> tokenizerKinds() {
  static const char *const kKinds[] = {
      TFMC_TOKENIZER_CHAR, TFMC_TOKENIZER_BYTE_BPE, TFMC_TOKENIZER_WORDPIECE,
      TFMC_TOKENIZER_HF_JSON};
  return kKinds;
}

/// The files a tokenizer kind reads, or none for an unknown kind.
inline llvm::ArrayRef<const char *> tokenizerFiles(llvm::StringRef kind) {
  static const char *const kChar[] = TFMC_TOKENIZER_CHAR_FILES;
  static const char *const kBPE[] = TFMC_TOKENIZER_BYTE_BPE_FILES;
  static const char *const kWordPiece[] = TFMC_TOKENIZER_WORDPIECE_FILES;
  static const char *const kHFJson[] = TFMC_TOKENIZER_HF_JSON_FILES;
  if (kind == TFMC_TOKENIZER_CHAR)
    return llvm::ArrayRef(kChar).drop_back();
  if (kind == TFMC_TOKENIZER_BYTE_BPE)
    return llvm::ArrayRef(kBPE).drop_back();
  if (kind == TFMC_TOKENIZER_WORDPIECE)
    return llvm::ArrayRef(kWordPiece).drop_back();
  if (kind == TFMC_TOKENIZER_HF_JSON)
    return llvm::ArrayRef(kHFJson).drop_back();
  return {};
}

} // namespace mlir::tfm

#endif // TFM_SUPPORT_ABI_H
