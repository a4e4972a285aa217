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

#include "tfm/Conversion/CpuTarget.h"
#include "tfm/IR/TfmOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::tfm::cpu {

/// The resolved tuning knobs (tfm/Conversion/CpuTarget.h).
using CpuOptions = CpuKernelParams;

/// State of lowering one entry function of a planned module: every op
/// result's memory is where #tfm.buffer says, weights are views of the
/// weights buffer where #tfm.weight_plan says; the lowering only chooses and
/// builds kernels.
class Lowering {
public:
  Lowering(ImplicitLocOpBuilder &b, const CpuOptions &options,
           WeightPlanAttr plan, Value weights, Value workspace,
           SmallVector<Value> outputs, llvm::DenseMap<int64_t, Value> args)
      : b(b), options(options), plan(plan), weights(weights),
        workspace(workspace), outputs(std::move(outputs)),
        args(std::move(args)) {}

  ImplicitLocOpBuilder &b;
  const CpuOptions &options;
  /// Set when an internal error was reported (the lowering then fails
  /// after the current op, whose code is discarded).
  bool hadError = false;

  /// The memref a tensor value was lowered to. A weight's row-major view is
  /// created on first use.
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

  /// The op being lowered (its #tfm.buffers and #tfm.scratch apply).
  void setCurrent(Operation *op) {
    current = op;
    scratchUsed = 0;
  }
  /// The planned buffer of op result `tensor`: an arena view, an output or
  /// the state argument it updates.
  Value allocFor(Value tensor, ValueRange dynamicSizes = {});
  /// Memory from the current op's scratch range (planned by the target's
  /// scratch function, PlanTarget.cpp).
  Value scratch(MemRefType type, ValueRange dynamicSizes = {});
  /// Memory of `type` at byte `offset` (an index value) of the current
  /// op's scratch range, for kernels that lay out pieces of run-time size
  /// themselves (within what their scratch function reserved).
  Value scratchAt(Value offset, MemRefType type, ValueRange dynamicSizes = {});

  /// A view of a weight in the given layout.
  Value weightView(WeightOp op);
  /// Quantized weights (#tfm.quant): the codes, as i8 bytes.
  Value gemmPanels(WeightOp op, bool kn, int64_t nr,
                   WeightLayout layout = WeightLayout::gemm_panels);
  /// The f32 scales of quantized panels, [P, ceil(K / group), nr].
  Value gemmScales(WeightOp op, bool kn, int64_t nr,
                   WeightLayout layout = WeightLayout::gemm_panels);
  /// The planned position table (sinusoidal, rotary) of `cols` columns.
  Value generatedTable(WeightLayout layout, int64_t cols, double base,
                       double scaling = 1.0);
  /// Whether the plan stores `table` only as GEMM panels (an embedding
  /// then reads rows from them).
  bool onlyInPanels(WeightOp table) const;

  /// Size of dimension `d` of a memref as an index value.
  Value dim(Value memref, int64_t d);
  /// The dynamic sizes of `type` taken from memref `like` of the same shape.
  SmallVector<Value> dynamicSizesLike(ShapedType type, Value like);
  /// `memref`, which the plan guarantees to be dense (an internal error
  /// is reported, and null returned, otherwise).
  Value contiguous(Value memref);
  /// `memref` (rows of unit stride, tfm-plan-views) viewed as
  /// [rows, cols] with cols = product of the dimensions from `axis` on.
  Value asMatrix(Value memref, int64_t axis);

private:
  WeightEntryAttr panelEntry(WeightOp op, bool kn, int64_t nr,
                             WeightLayout layout) const;
  /// Reports nothing (the caller did), marks failure, returns a buffer of
  /// `type` so that code generation can finish the op.
  Value placeholder(MemRefType type, ValueRange dynamicSizes);
  Value view(Value base, int64_t offset, MemRefType type,
             ValueRange dynamicSizes);
  Value weightsView(WeightEntryAttr e, MemRefType type);

  WeightPlanAttr plan;
  Value weights, workspace;
  SmallVector<Value> outputs;          ///< by output index
  llvm::DenseMap<int64_t, Value> args; ///< state arguments by index
  IRMapping map;
  Operation *current = nullptr;
  int64_t scratchUsed = 0;
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
LogicalResult lowerMoE(Operation *op, Lowering &l);

} // namespace mlir::tfm::cpu

#endif // TFM_CONVERSION_TFMTOCPU_LOWERING_H
