//===- Frontends.cpp - dispatch on the kind of model input ----------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Frontends.h"
#include "tfm/Frontends/ModelBuilder.h"
#include "tfm/IR/TfmOps.h"
#include "tfm/Support/InputFile.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::tfm;
using llvm::StringRef;

Location mlir::tfm::fileLoc(MLIRContext &ctx, StringRef path) {
  return FileLineColLoc::get(&ctx, path, 0, 0);
}

/// The size limits of docs/limits.md, checked before anything is built
/// (a model file of 10^8 layers, or one weight of 10^14 elements, would
/// otherwise run for hours or exhaust memory).
static LogicalResult checkSizeLimits(MLIRContext &ctx, StringRef path,
                                     const ModelSpec &spec) {
  for (const StackConfig *s : {&spec.encoder, &spec.decoder})
    if (s->layers > TFMC_MAX_LAYERS)
      return emitError(s->loc)
             << s->layers << " layers exceed the limit of " << TFMC_MAX_LAYERS
             << " per stack (docs/limits.md)";
  int64_t experts = std::max<int64_t>(1, spec.moe.experts);
  std::pair<const char *, int64_t> dims[] = {
      {"d_model", spec.dModel},
      {"d_ff", spec.ffn.dFF},
      {"the vocabulary size", spec.embedding.vocabSize},
      {"the number of heads", spec.attention.numHeads},
      {"the number of experts", spec.moe.experts},
      {"the maximum sequence length", spec.maxSeqLen},
      {"the sequence length", spec.seqLen},
      {"the target sequence length", spec.targetSeqLen},
      {"the batch size", spec.batch}};
  for (auto [what, v] : dims)
    if (v > TFMC_MAX_MODEL_DIM)
      return emitError(fileLoc(ctx, path))
             << what << " " << v << " exceeds the limit of "
             << TFMC_MAX_MODEL_DIM << " (docs/limits.md)";
  // Each factor is below 2^24 here, so no product of two wraps.
  std::pair<const char *, int64_t> tensors[] = {
      {"the embedding table", spec.embedding.vocabSize * spec.dModel},
      {"a feed-forward weight",
       spec.dModel * spec.ffn.dFF > TFMC_MAX_TENSOR_ELEMENTS / experts
           ? TFMC_MAX_TENSOR_ELEMENTS + 1
           : spec.dModel * spec.ffn.dFF * experts}};
  for (auto [what, n] : tensors)
    if (n > TFMC_MAX_TENSOR_ELEMENTS)
      return emitError(fileLoc(ctx, path))
             << what << " would hold more than " << TFMC_MAX_TENSOR_ELEMENTS
             << " elements (docs/limits.md)";
  return success();
}

/// Applies --batch/--seq-len/--target-seq-len to a parsed model.
static LogicalResult applyShapeOptions(MLIRContext &ctx, StringRef path,
                                       ModelSpec &spec,
                                       const ImportOptions &opts) {
  if (opts.batch > 0)
    spec.batch = opts.batch;
  if (opts.seqLen != 0) {
    spec.seqLen = opts.seqLen;
    if (opts.targetSeqLen == 0 && spec.family != Family::EncoderDecoder)
      spec.targetSeqLen = opts.seqLen;
  }
  if (opts.targetSeqLen != 0) {
    if (spec.family != Family::EncoderDecoder) {
      emitError(fileLoc(ctx, path))
          << "--target-seq-len only applies to encoder-decoder models";
      return failure();
    }
    spec.targetSeqLen = opts.targetSeqLen;
  }
  for (auto [flag, value] : {std::pair<StringRef, int64_t>{"seq-len", spec.seqLen},
                             {"target-seq-len", spec.targetSeqLen}}) {
    if (value > spec.maxSeqLen) {
      emitError(fileLoc(ctx, path))
          << "--" << flag << " = " << value
          << " exceeds the model's maximum sequence length " << spec.maxSeqLen;
      return failure();
    }
  }
  return success();
}

/// Hand-written IR: every tfm.weight must exist in the weights source.
static LogicalResult declareWeights(ModuleOp module, WeightStore &weights) {
  WalkResult r = module.walk([&](WeightOp op) -> WalkResult {
    if (op.getParts())
      return WalkResult::advance();
    StringRef name = op.getName();
    WeightStore::Init init = WeightStore::Init::Normal;
    if (name.ends_with("bias"))
      init = WeightStore::Init::Zeros;
    else if (name.contains("norm") || name.contains("LayerNorm") ||
             name.contains("ln_"))
      init = WeightStore::Init::Ones;
    if (llvm::Error e = weights.require(name, op.getType().getShape(), init)) {
      op.emitError() << llvm::toString(std::move(e));
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

FailureOr<ImportedModel>
mlir::tfm::importModel(MLIRContext &ctx, llvm::SourceMgr &sourceMgr,
                       StringRef path, const ImportOptions &opts) {
  ImportedModel result;
  if (!llvm::sys::fs::exists(path)) {
    emitError(fileLoc(ctx, path)) << "no such file or directory";
    return failure();
  }

  if (path.ends_with(".mlir")) {
    auto buf = readInputFile(path, TFMC_MAX_CONFIG_FILE_BYTES);
    if (!buf) {
      emitError(fileLoc(ctx, path))
          << "cannot read: " << llvm::toString(buf.takeError());
      return failure();
    }
    sourceMgr.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());
    result.module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
    if (!result.module)
      return failure();
    if (!opts.weightsFile.empty()) {
      auto file = SafetensorsFile::open(opts.weightsFile);
      if (!file) {
        emitError(fileLoc(ctx, opts.weightsFile))
            << llvm::toString(file.takeError());
        return failure();
      }
      result.weights = WeightStore::fromSafetensors(std::move(*file));
    } else {
      result.weights = WeightStore::random(opts.randomSeed.value_or(0));
    }
    if (failed(declareWeights(*result.module, *result.weights)))
      return failure();
    return result;
  }

  FailureOr<std::unique_ptr<ModelSpec>> spec = failure();
  if (llvm::sys::fs::is_directory(path))
    spec = parseHFModel(ctx, sourceMgr, path, result.weights);
  else if (path.ends_with(".toml"))
    spec = parseTomlModel(ctx, sourceMgr, path, result.weights);
  else {
    emitError(fileLoc(ctx, path))
        << "unknown input kind (expected a .toml model file, a Hugging Face "
           "folder or a .mlir file)";
    return failure();
  }
  if (failed(spec) || failed(applyShapeOptions(ctx, path, **spec, opts)) ||
      failed(checkSizeLimits(ctx, path, **spec)))
    return failure();
  (*spec)->attentionEntries = opts.attentionEntries;
  FailureOr<OwningOpRef<ModuleOp>> module =
      buildModel(&ctx, **spec, *result.weights);
  if (failed(module) || failed(attachTokenizer(**module, **spec)))
    return failure();
  result.module = std::move(*module);
  return result;
}
