//===- Lowering.h - shared state of the tfm to CPU lowering -----*- C++ -*-===//
//
// Part of tfmc. Internal to the TfmToCPU lowering. The lowering walks each
// entry function in program order and maps every tensor value to a memref:
// a fresh buffer, a function argument, a weight view, or a view of another
// buffer (reshape, slice). Kernels are free to produce strided views, which
// is why this is a direct walk and not a type-converting dialect conversion
// (docs/cpu-backend.md).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_TFMTOCPU_LOWERING_H
#define TFM_CONVERSION_TFMTOCPU_LOWERING_H

#include "tfm/Conversion/WeightPlan.h"
#include "tfm/IR/TfmOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::tfm::cpu {

/// Target choices of the lowering (pass options).
struct CpuOptions {
  unsigned vectorWidth = 8; ///< f32 lanes
  unsigned gemmMR = 6, gemmNR = 16;
  unsigned gemmKC = 512, gemmMC = 128; ///< cache blocks (K, rows)
  unsigned attentionBlockQ = 16, attentionBlockK = 64;
  int64_t maxPositions = 0;
};

/// State of lowering one entry function.
class Lowering {
public:
  Lowering(ImplicitLocOpBuilder &b, const CpuOptions &options, WeightPlan &plan,
           Value weights, llvm::DenseMap<Value, Value> outputFor)
      : b(b), options(options), plan(plan), weights(weights),
        outputFor(std::move(outputFor)) {}

  ImplicitLocOpBuilder &b;
  const CpuOptions &options;
  WeightPlan &plan;

  /// The memref a tensor value was lowered to. A weight's row-major view is
  /// created (and its bytes planned) on first use, so weights only ever read
  /// as packed GEMM panels are stored once.
  Value lookup(Value tensor);
  /// The value `v` was lowered to, if any (creates nothing).
  Value lowered(Value v) const { return map.lookupOrNull(v); }
  void bind(Value tensor, Value memref) { map.map(tensor, memref); }
  /// The lowered form of a scalar operand (an index computed in the body);
  /// null stays null.
  Value scalar(Value v) const { return v ? map.lookupOrDefault(v) : v; }
  SmallVector<Value> scalars(ValueRange vs) const {
    return llvm::map_to_vector(vs, [&](Value v) { return scalar(v); });
  }
  /// Clones a scalar op (index arithmetic, constants), remapping operands.
  Operation *cloneScalar(Operation *op) { return b.clone(*op, map); }

  /// A buffer for the op result `tensor`: the function's output argument
  /// when `tensor` is returned, else a 64-byte aligned memref.alloc.
  Value allocFor(Value tensor, ValueRange dynamicSizes = {});
  /// A fresh temporary buffer.
  Value allocTemp(MemRefType type, ValueRange dynamicSizes = {});

  /// A view of a weight in the given layout.
  Value weightView(WeightOp op);
  Value gemmPanels(WeightOp op, bool kn, int64_t nr);
  /// The [rows, d] sinusoidal table.
  Value sinusoidTable(int64_t rows, int64_t d, double base);

  /// Size of dimension `d` of a memref as an index value.
  Value dim(Value memref, int64_t d);
  /// The dynamic sizes of `type` taken from memref `like` of the same shape.
  SmallVector<Value> dynamicSizesLike(ShapedType type, Value like);
  /// `memref` as a contiguous row-major buffer (a copy when it is a strided
  /// view that is not contiguous).
  Value contiguous(Value memref);
  /// A contiguous `memref` viewed as [rows, cols] with cols = product of the
  /// dimensions from `axis` on.
  Value asMatrix(Value memref, int64_t axis);

private:
  Value weightsView(const WeightEntry &e, MemRefType type);

  Value weights;
  llvm::DenseMap<Value, Value> outputFor;
  IRMapping map;
};

/// Moves the loops a tfm op lowered to into a private kernel function (its
/// views and buffers stay in the entry and are passed in), one function per
/// distinct kernel of the module (Outline.cpp).
class KernelOutliner {
public:
  explicit KernelOutliner(ModuleOp module) : module(module) {}
  /// `ops`: what one tfm op lowered to, in order; `kind` names the kernel;
  /// `liveOut`: the values later ops will read (its results' buffers).
  void outline(ArrayRef<Operation *> ops, StringRef kind, ValueRange liveOut);

private:
  ModuleOp module;
  llvm::StringMap<func::FuncOp> kernels; ///< by printed body
};

/// Lowers one tfm op (or func.return); emits an error and fails on ops the
/// CPU backend does not support.
LogicalResult lowerOp(Operation *op, Lowering &l);

// Per op family (one file each).
LogicalResult lowerElementwise(Operation *op, Lowering &l);
LogicalResult lowerShapeOp(Operation *op, Lowering &l);
LogicalResult lowerMisc(Operation *op, Lowering &l);
LogicalResult lowerRowKernel(Operation *op, Lowering &l);
LogicalResult lowerGemm(Operation *op, Lowering &l);
LogicalResult lowerAttention(AttentionOp op, Lowering &l);

} // namespace mlir::tfm::cpu

#endif // TFM_CONVERSION_TFMTOCPU_LOWERING_H
