//===- Inspect.h - IR inspection helpers of the tfmc driver -----*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TOOLS_INSPECT_H
#define TFM_TOOLS_INSPECT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::tfm {

/// Writes every function of `module` as a Graphviz digraph: ops as nodes
/// labelled with their result shapes and source names, model parameters and
/// inputs as distinct input nodes, SSA uses as edges.
void exportGraph(ModuleOp module, llvm::raw_ostream &os);

/// Makes `pm` write the whole module after every pass into `dir` as numbered
/// files (`00-input.mlir`, `01-tfm-decompose.mlir`, ...). `module` is written
/// as `00-input.mlir` right away. Multi-threading must be disabled.
LogicalResult enableIRDumpDir(PassManager &pm, ModuleOp module,
                              llvm::StringRef dir);

} // namespace mlir::tfm

#endif // TFM_TOOLS_INSPECT_H
