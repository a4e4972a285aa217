//===- Artifact.h - artifact directories: manifest and weights --*- C++ -*-===//
//
// Part of tfmc. What every target's artifact shares: manifest.json (entries
// from #tfm.entry, model metadata and tokenizer from #tfm.model;
// target-specific fields through callbacks) and weights.bin (laid out by
// #tfm.weight_plan, each tensor in its planned element type).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_ARTIFACT_H
#define TFM_TARGET_ARTIFACT_H

#include "tfm/IR/TfmAttrs.h"
#include "tfm/Support/WeightSource.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::tfm {

/// An input or output of an entry point.
struct TensorSpec {
  std::string name, dtype;
  std::vector<int64_t> shape;        ///< -1 for dynamic
  std::vector<std::string> dimNames; ///< names of the dynamic dimensions
  int64_t idBound = 0;               ///< token ids must be in [0, idBound)
  bool state = false; ///< run-time state (a KV cache), updated in place
};

struct EntrySpec {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
  int64_t workspaceBytes = 0;
  std::vector<std::pair<std::string, int64_t>> dimBounds; ///< name, max
  uint64_t signature = 0; ///< what its code was compiled for (tfmc/abi.h)
};

/// The manifest's view of the planned entry `name` (one collector for
/// every target).
EntrySpec entrySpecFor(llvm::StringRef name, EntryAttr entry,
                       WeightPlanAttr plan);

/// Writes weights.bin in the layout of `plan` (concatenations assembled,
/// tables generated, panels packed, every tensor narrowed to its planned
/// element type) and returns its checksum.
llvm::Expected<uint64_t> writeWeights(WeightPlanAttr plan,
                                      const WeightSource &weights,
                                      llvm::StringRef path);

/// Everything an artifact directory holds besides the weights.
struct ArtifactInfo {
  ModelAttr model; ///< null for hand-written IR without one
  /// A vision model's image preprocessing and labels (attr::kImage).
  DictionaryAttr image;
  WeightPlanAttr weights;
  std::vector<EntrySpec> entries;
  uint64_t weightsChecksum = 0;
  /// The manifest's "target" object's fields and "library" (none if empty).
  std::function<void(llvm::json::OStream &)> writeTarget;
  std::string library;
  /// Target-specific fields of entry `index`, if any.
  std::function<void(llvm::json::OStream &, size_t index)> writeEntryExtra;
};

/// The model, weight plan and entries of a planned module.
ArtifactInfo artifactInfoFor(ModuleOp planned);

/// Copies the tokenizer's files (checked by the frontend) into the
/// artifact directory.
llvm::Error
copyTokenizerFiles(const ArtifactInfo &info,
                   llvm::function_ref<std::string(llvm::StringRef)> at);

/// Writes an artifact directory atomically: `fill` writes files into a
/// temporary sibling directory (`at(name)` gives a file's path there), which
/// then replaces `outDir` (only if that is an artifact). On failure nothing
/// is left behind.
llvm::Error
writeArtifactDir(llvm::StringRef outDir,
                 llvm::function_ref<llvm::Error(
                     llvm::function_ref<std::string(llvm::StringRef)> at)>
                     fill);

/// Makes writeArtifactDir clean up when the process is interrupted (SIGINT,
/// SIGTERM, SIGHUP, SIGQUIT): the temporary directory is removed, a
/// previous artifact moved aside is put back, then the signal takes its
/// default effect. For command-line tools; a library host (the Python
/// package) keeps its own handlers and gets the clean-up of an ordinary
/// failure when it returns.
void enableArtifactInterruptCleanup();

/// Writes manifest.json; with `inlineTokenizer`, the tokenizer's files'
/// contents go into it (an executable's embedded manifest).
llvm::Error writeManifest(llvm::StringRef path, const ArtifactInfo &info,
                          bool inlineTokenizer = false);

/// The version of the artifact format this compiler writes (manifest.json
/// "version"), checked by the runtime.
inline constexpr int kArtifactVersion = 2;

} // namespace mlir::tfm

#endif // TFM_TARGET_ARTIFACT_H
