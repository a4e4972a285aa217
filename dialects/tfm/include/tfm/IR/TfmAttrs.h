//===- TfmAttrs.h - the typed contract between stages ----------*- C++ -*-===//
//
// Part of tfmc. The attributes of TfmAttrs.td and the names under which
// they are attached to modules, functions, arguments and ops. These names
// are declared here and nowhere else; the dialect verifies every `tfm.*`
// attribute it finds (TfmDialect::verifyOperationAttribute and friends).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_TFMATTRS_H
#define TFM_IR_TFMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"

#include "tfm/IR/TfmAttrEnums.h.inc"

namespace mlir::tfm {
FailureOr<bool> parseBoolParameter(AsmParser &parser);

/// `[a, b, ...]` of attributes (tfm attributes in their short form).
template <typename T> FailureOr<SmallVector<T>> parseList(AsmParser &parser) {
  SmallVector<T> out;
  if (parser.parseCommaSeparatedList(
          AsmParser::Delimiter::Square, [&]() -> ParseResult {
            FailureOr<T> e = FieldParser<T>::parse(parser);
            if (failed(e))
              return failure();
            out.push_back(*e);
            return success();
          }))
    return failure();
  return out;
}
template <typename T> void printList(AsmPrinter &printer, ArrayRef<T> list) {
  printer << "[";
  llvm::interleaveComma(list, printer, [&](T a) {
    if constexpr (std::is_same_v<T, StringAttr>)
      printer << a;
    else
      printer.printStrippedAttrOrType(a);
  });
  printer << "]";
}
} // namespace mlir::tfm

#define GET_ATTRDEF_CLASSES
#include "tfm/IR/TfmAttrs.h.inc"

namespace mlir::tfm::attr {

// Set by the frontends.
/// Module: ModelAttr.
inline constexpr llvm::StringLiteral kModel = "tfm.model";
/// Module of a vision model: how images become its pixel_values and the
/// names of its classes (DictionaryAttr, written to the manifest's
/// "image" object; docs/model-format.md).
inline constexpr llvm::StringLiteral kImage = "tfm.image";
/// Entry argument or result: its public name (StringAttr).
inline constexpr llvm::StringLiteral kName = "tfm.name";
/// Entry argument or result: one name per dimension, "" for static ones;
/// equal names have equal sizes (ArrayAttr of StringAttr).
inline constexpr llvm::StringLiteral kDimNames = "tfm.dim_names";
/// Entry result: the index of the argument it updates in place (a KV
/// cache); that argument is run-time state the session owns.
inline constexpr llvm::StringLiteral kTiedTo = "tfm.tied_to";
/// Entry function: {name = max} bounds of its named dimensions.
inline constexpr llvm::StringLiteral kDimBounds = "tfm.dim_bounds";

// Set by the planning passes (tfm-plan-*).
/// Entry function: EntryAttr, its ABI.
inline constexpr llvm::StringLiteral kEntry = "tfm.entry";
/// Module: WeightPlanAttr, the weights buffer.
inline constexpr llvm::StringLiteral kWeights = "tfm.weights";
/// Op: ArrayAttr of BufferAttr, where each result lives.
inline constexpr llvm::StringLiteral kBuffers = "tfm.buffers";
/// Op: BufferAttr, the arena range its kernel may use as scratch.
inline constexpr llvm::StringLiteral kScratch = "tfm.scratch";

// Buffer-level annotations the CPU lowering derives from #tfm.entry, so that
// the kernels-on-buffers stage (--emit=linalg) reads on its own.
/// Argument: the bound its token ids are checked against (IntegerAttr).
inline constexpr llvm::StringLiteral kIdBound = "tfm.id_bound";
/// Function: bytes of the workspace (the arena) one run needs.
inline constexpr llvm::StringLiteral kWorkspaceBytes = "tfm.workspace_bytes";

// Set by the CPU lowering on its generated C ABI wrappers.
/// Function: the name of the entry a `tfmc_<entry>` wrapper calls.
inline constexpr llvm::StringLiteral kEntryWrapper = "tfm.entry_wrapper";

} // namespace mlir::tfm::attr

namespace mlir::tfm {

/// The model metadata of `module`, or null (hand-written IR may have none).
ModelAttr getModelAttr(Operation *module);
/// The planned ABI of an entry function, or null before planning.
EntryAttr getEntryAttr(Operation *function);
/// The module's weight plan, or null before planning.
WeightPlanAttr getWeightPlan(Operation *module);
/// Where result `index` of `op` lives, or null before planning.
BufferAttr getResultBuffer(Operation *op, unsigned index);

/// The manifest's name of an element type ("float32", "bfloat16", ...;
/// "" when unsupported), from tfmc/abi.h.
llvm::StringRef dtypeName(Type type);

/// Bytes of one element of `type` (f32, f16, bf16, i1 as one byte, i8, i32,
/// i64, index as i64); 0 for unsupported types.
int64_t elementBytes(Type type);

} // namespace mlir::tfm

#endif // TFM_IR_TFMATTRS_H
