//===- Frontends.h - model files to primitive tfm IR -----------*- C++ -*-===//
//
// Part of tfmc. Entry points of the frontends: our TOML model format, Hugging
// Face folders (GPT-2, BERT) and hand-written .mlir. Problems are reported as
// MLIR diagnostics located in the model file (file:line:col, or the file).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTENDS_FRONTENDS_H
#define TFM_FRONTENDS_FRONTENDS_H

#include "tfm/Frontends/ModelSpec.h"
#include "tfm/Frontends/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::tfm {

/// Shapes fixed at compile time (0 = the model file's default,
/// ModelSpec::kDynamicLength = chosen at run time) and where the weights of
/// a hand-written .mlir module come from.
struct ImportOptions {
  int64_t batch = 0, seqLen = 0, targetSeqLen = 0;
  std::string weightsFile;          ///< safetensors for .mlir inputs
  std::optional<uint64_t> randomSeed; ///< random weights for .mlir inputs
  bool attentionEntries = false; ///< see ModelSpec::attentionEntries
};

struct ImportedModel {
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<WeightStore> weights;
};

/// Reads `path`: a .toml model file, a Hugging Face folder (config.json +
/// model.safetensors) or a .mlir file. Text inputs are added to `sourceMgr`
/// so diagnostics can quote them.
FailureOr<ImportedModel> importModel(MLIRContext &ctx,
                                     llvm::SourceMgr &sourceMgr,
                                     llvm::StringRef path,
                                     const ImportOptions &options);

/// Our TOML model format (docs/model-format.md).
FailureOr<std::unique_ptr<ModelSpec>>
parseTomlModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
               llvm::StringRef path, std::unique_ptr<WeightStore> &weights);

/// A Hugging Face folder with config.json and model.safetensors.
FailureOr<std::unique_ptr<ModelSpec>>
parseHFModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
             llvm::StringRef dir, std::unique_ptr<WeightStore> &weights);

/// Checks the model's tokenizer by loading it (files, vocabulary size) and
/// records it on `module` as `tfm.tokenizer` for the artifact writer.
LogicalResult attachTokenizer(ModuleOp module, const ModelSpec &spec);

/// Location of a file as a whole (printed as "file: error: ...").
Location fileLoc(MLIRContext &ctx, llvm::StringRef path);

} // namespace mlir::tfm

#endif // TFM_FRONTENDS_FRONTENDS_H
