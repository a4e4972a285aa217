//===- Passes.h - tfm lowerings ---------------------------------*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_PASSES_H
#define TFM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tfm {

#define GEN_PASS_DECL
#include "tfm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "tfm/Conversion/Passes.h.inc"

/// Module attribute listing every tensor of the weights buffer.
inline constexpr llvm::StringLiteral kWeightPlanAttr = "tfm.weight_plan";
/// Module attribute: total bytes of the weights buffer.
inline constexpr llvm::StringLiteral kWeightBytesAttr = "tfm.weight_bytes";
/// Function attribute: bytes of the workspace an entry needs.
inline constexpr llvm::StringLiteral kWorkspaceBytesAttr =
    "tfm.workspace_bytes";
/// Function attribute marking entry functions after lowering, with the
/// number of inputs and outputs.
inline constexpr llvm::StringLiteral kEntryAttr = "tfm.entry";

// Attributes of entry functions set by the frontends and carried to the
// buffer level (and from there into manifest.json):
/// Argument/result: its name for users ("input_ids", "logits", ...).
inline constexpr llvm::StringLiteral kNameAttr = "tfm.name";
/// Result: the index of the argument whose buffer it updates in place (a
/// KV cache); the argument is then run-time state the runtime owns.
inline constexpr llvm::StringLiteral kTiedToAttr = "tfm.tied_to";
/// Buffer-level argument: state (see kTiedToAttr).
inline constexpr llvm::StringLiteral kStateAttr = "tfm.state";
/// Argument/result: one name per dimension, "" for static ones, e.g.
/// ["", "seq"]: dimensions with equal names have equal sizes.
inline constexpr llvm::StringLiteral kDimNamesAttr = "tfm.dim_names";
/// Function: {name = max} bounds of the named dimensions.
inline constexpr llvm::StringLiteral kDimBoundsAttr = "tfm.dim_bounds";

} // namespace mlir::tfm

#endif // TFM_CONVERSION_PASSES_H
