//===- Tokenizer.cpp - the model's tokenizer, checked at compile time -----===//
//
// Part of tfmc. A model's tokenizer files are loaded here with the runtime's
// own tokenizer code, so a corrupted vocabulary or one larger than the
// model's embedding table is a compile error, not a surprise at run time.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Frontends.h"

#include "tfmc/tokenizers.hpp"

#include "tfm/IR/TfmAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::tfm;

LogicalResult mlir::tfm::attachTokenizer(ModuleOp module,
                                         const ModelSpec &spec) {
  const TokenizerSource &t = spec.tokenizer;
  if (t.kind.empty())
    return success();
  Location loc = t.loc.value_or(spec.modelLoc);
  tfmc::TokenizerInfo tok =
      tfmc::inspectTokenizer(t.kind, t.directory, t.lowercase);
  if (!tok.ok)
    return emitError(loc) << "bad tokenizer: " << tok.error;
  if (static_cast<int64_t>(tok.vocabSize) > spec.embedding.vocabSize)
    return emitError(loc) << "the tokenizer has " << tok.vocabSize
                          << " tokens but the model's vocab_size is "
                          << spec.embedding.vocabSize;
  MLIRContext *ctx = module.getContext();
  ModelAttr model = getModelAttr(module);
  std::optional<TokenizerKind> kind = symbolizeTokenizerKind(t.kind);
  if (!model || !kind)
    return emitError(loc) << "internal error: no model to attach tokenizer '"
                          << t.kind << "' to";
  module->setAttr(
      attr::kModel,
      ModelAttr::get(
          ctx, model.getFamily(), model.getVocabSize(), model.getMaxSeqLen(),
          model.getBosId(), model.getEosId(), model.getPadId(),
          TokenizerAttr::get(ctx, *kind, StringAttr::get(ctx, t.directory),
                             t.lowercase)));
  return success();
}
