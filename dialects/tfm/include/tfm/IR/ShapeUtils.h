//===- ShapeUtils.h - shape rules shared by tfm ops -------------*- C++ -*-===//
//
// Part of tfmc. Each function computes a result shape (or checks a rule) and
// reports a violation through `emitError`, so verifiers, type inference and
// the frontends all apply the same rules with the same messages.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_SHAPEUTILS_H
#define TFM_IR_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"

namespace mlir::tfm {

/// Reports a violated shape rule; callers wrap `emitOpError`, `emitError` at a
/// location, or a frontend diagnostic.
using EmitErrorFn = llvm::function_ref<void(const llvm::Twine &)>;

/// NumPy broadcasting of two shapes (dynamic dims are compatible with
/// anything and stay dynamic unless the other side is a static non-1 size).
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                ArrayRef<int64_t> rhs,
                                                EmitErrorFn emitError);

/// True when `from` broadcasts to exactly `to` (right-aligned).
bool isBroadcastableTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to);

/// Two dimension sizes that may be equal at run time.
bool dimsCompatible(int64_t a, int64_t b);

/// Checks that `axis` lies in [0, rank).
LogicalResult verifyAxis(int64_t axis, int64_t rank, StringRef what,
                         EmitErrorFn emitError);

/// Checks that `perm` is a permutation of [0, rank).
LogicalResult verifyPermutation(ArrayRef<int64_t> perm, int64_t rank,
                                EmitErrorFn emitError);

/// Shape of a (batched, optionally transposed) matrix product.
FailureOr<SmallVector<int64_t>> inferMatmulShape(ArrayRef<int64_t> lhs,
                                                 ArrayRef<int64_t> rhs,
                                                 bool transLhs, bool transRhs,
                                                 EmitErrorFn emitError);

/// Shape of `x W^T` (or `x W` when `weightKN`) for `x: [..., K]`.
FailureOr<SmallVector<int64_t>> inferLinearShape(ArrayRef<int64_t> input,
                                                 ArrayRef<int64_t> weight,
                                                 bool weightKN,
                                                 EmitErrorFn emitError);

/// Shape after reducing `axes` (validated: distinct, in range).
FailureOr<SmallVector<int64_t>> inferReduceShape(ArrayRef<int64_t> input,
                                                 ArrayRef<int64_t> axes,
                                                 bool keepDims,
                                                 EmitErrorFn emitError);

/// Checks an optional normalisation parameter (scale/bias) against the
/// normalised shape `input[axis:]`.
LogicalResult verifyNormParam(ArrayRef<int64_t> input, int64_t axis,
                              ArrayRef<int64_t> param, StringRef what,
                              EmitErrorFn emitError);

/// Attention operand layout, resolved from the three operand shapes.
struct AttentionDims {
  int64_t batch, heads, kvHeads, querySeq, keySeq, headDim, valueHeadDim;
  bool explicitHeads;
};

/// Checks q/k/v shapes and the numbers of query and key/value heads
/// (grouped-query attention when fewer key/value heads; 0: as many as query
/// heads); returns the dimensions.
FailureOr<AttentionDims>
inferAttentionDims(ArrayRef<int64_t> q, ArrayRef<int64_t> k,
                   ArrayRef<int64_t> v, int64_t numHeads, EmitErrorFn emitError,
                   int64_t kvHeads = 0);

/// Result shape of attention for the given dims.
SmallVector<int64_t> attentionResultShape(const AttentionDims &dims);

/// Number of elements, or nullopt when a dimension is dynamic.
std::optional<int64_t> staticNumElements(ArrayRef<int64_t> shape);

/// Whether a reshape from `in` to `out` is well defined: equal element
/// counts when static; with dynamic dimensions, one on each side with equal
/// static products, or the same number on both sides, in order, with equal
/// static products before, between and after them. `emitError` (may be
/// null) says why not.
LogicalResult verifyReshapeShapes(ArrayRef<int64_t> in, ArrayRef<int64_t> out,
                                  EmitErrorFn emitError);

/// Shape formatted as `2x37x96` (dynamic dims as `?`) for messages.
std::string formatShape(ArrayRef<int64_t> shape);

} // namespace mlir::tfm

#endif // TFM_IR_SHAPEUTILS_H
