//===- Inspect.h - IR inspection helpers of the tfmc driver -----*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TOOLS_INSPECT_H
#define TFM_TOOLS_INSPECT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <memory>

namespace mlir::tfm {

/// Writes every function of `module` as a Graphviz digraph: ops as nodes
/// labelled with their result shapes and source names, model parameters and
/// inputs as distinct input nodes, SSA uses as edges.
void exportGraph(ModuleOp module, llvm::raw_ostream &os);

/// Writes the module after every pass of one or more pass managers into a
/// directory as numbered files (`00-input.mlir`, `01-tfm-decompose.mlir`,
/// ...); numbering continues across the pass managers it is attached to.
/// Multi-threading must be disabled.
class IRDumpDir : public std::enable_shared_from_this<IRDumpDir> {
public:
  /// Creates `dir` and writes `module` as `00-input.mlir`.
  static FailureOr<std::shared_ptr<IRDumpDir>> create(ModuleOp module,
                                                      llvm::StringRef dir);
  void attach(PassManager &pm);
  std::string dir;
  unsigned next = 1;
};

} // namespace mlir::tfm

#endif // TFM_TOOLS_INSPECT_H
