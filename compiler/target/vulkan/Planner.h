//===- Planner.h - fused tfm IR to a Vulkan dispatch plan -------*- C++ -*-===//
//
// Part of tfmc. Internal to compiler/target/vulkan. The planner walks one
// entry function in program order, maps tensors to views and index values to
// scalar slots, and calls one kernel generator per op (Kernels*.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_VULKAN_PLANNER_H
#define TFM_TARGET_VULKAN_PLANNER_H

#include "Glsl.h"

#include "tfm/Conversion/WeightPlan.h"
#include "tfm/IR/TfmOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <functional>

namespace mlir::tfm::vk {

/// Computes one output element of a pointwise kernel: `in` holds the GLSL
/// names of the loaded input elements, `coords` the output coordinates;
/// sets `result` to an expression (statements may go to `w.body`).
using PointwiseBody = std::function<LogicalResult(
    KernelWriter &w, llvm::ArrayRef<std::string> in,
    llvm::ArrayRef<std::string> coords, std::string &result)>;

class Planner {
public:
  Planner(ModulePlan &module, EntryPlan &entry, const VulkanTarget &target,
          WeightPlan &weights, int64_t maxPositions)
      : module(module), entry(entry), target(target), weights(weights),
        maxPositions(maxPositions) {}

  /// Plans `fn` into `entry`.
  LogicalResult run(func::FuncOp fn);

  ModulePlan &module;
  EntryPlan &entry;
  const VulkanTarget &target;
  WeightPlan &weights;
  int64_t maxPositions;
  Scalars &S() { return entry.scalars; }

  // Views ------------------------------------------------------------------
  /// The view a tensor value was planned to (weights on first use).
  FailureOr<View> view(Value tensor);
  /// The slot or constant of an index value.
  FailureOr<Sym> index(Value v);
  /// A new arena tensor (contiguous).
  View fresh(llvm::ArrayRef<Sym> dims, bool isInt = false);
  /// Row-major strides of `dims`.
  llvm::SmallVector<Sym, 4> contiguousStrides(llvm::ArrayRef<Sym> dims);
  bool isContiguous(const View &v);
  /// `v` itself when contiguous, else a copy.
  View contiguous(const View &v);
  /// `v` broadcast (right-aligned, NumPy rules) to `dims`.
  View broadcastTo(const View &v, llvm::ArrayRef<Sym> dims);
  /// Product of `dims`.
  Sym numel(llvm::ArrayRef<Sym> dims);
  /// Dims of a tensor type, dynamic ones from `like` (same rank).
  llvm::SmallVector<Sym, 4> dimsOf(Value result);
  /// A contiguous view of weights-buffer entry `placed` with `shape`.
  View weightView(const WeightEntry &placed, llvm::ArrayRef<int64_t> shape);
  /// A weight in GEMM panels of width `nr`: [ceil(N/nr), K, nr].
  View weightPanels(WeightOp op, bool kn, int64_t nr);
  /// The sinusoidal table [rows, d].
  View sinusoidTable(int64_t d, int64_t rows, double base);

  // Dispatches ---------------------------------------------------------------
  /// Adds a dispatch of the kernel `w` describes over `groups` workgroups.
  void dispatch(KernelWriter &w, Sym gx, Sym gy, Sym gz,
                llvm::ArrayRef<View> reads, llvm::ArrayRef<View> writes);
  /// Workgroups for `n` elements with `perGroup` each (capped; kernels loop).
  Sym groupsFor(Sym n, int64_t perGroup);
  /// out[c] = body(ins[c]) for every coordinate c of `out` (inputs already
  /// broadcast to out's dims).
  LogicalResult pointwise(const View &out, llvm::ArrayRef<View> ins,
                          const PointwiseBody &body,
                          const std::string &kind = "pointwise");
  /// pointwise(), then `result` is `out`.
  LogicalResult produce(Value result, const View &out,
                        llvm::ArrayRef<View> ins, const PointwiseBody &body,
                        const std::string &kind) {
    if (failed(pointwise(out, ins, body, kind)))
      return failure();
    bind(result, out);
    return success();
  }
  /// out = in (element by element; shapes equal).
  void copy(const View &in, const View &out);

  // Op generators (Kernels*.cpp) -------------------------------------------
  LogicalResult genElementwise(Operation *op);
  LogicalResult genGemm(Operation *op);
  LogicalResult genAttention(AttentionOp op);
  LogicalResult genRows(Operation *op);
  LogicalResult genReduce(Operation *op);
  LogicalResult genGather(Operation *op, Value input, Value indices,
                          int64_t axis);
  LogicalResult genShapeOp(Operation *op);
  LogicalResult genMisc(Operation *op);

  /// Where the current op comes from, for the kernel's comment.
  std::string origin;
  void bind(Value v, View view) { views[v] = std::move(view); }

private:
  LogicalResult planOp(Operation &op);
  LogicalResult finishEntry(func::FuncOp fn);
  void planArena();
  void placeBarriers();
  int newStorage(Buf buf, int64_t bytes);

  llvm::DenseMap<Value, View> views;
  llvm::DenseMap<Value, Sym> indices;
  std::vector<int> outputStorage; ///< per output: its arena storage
  func::FuncOp function;
};

/// `op`'s location as "file:line:col" (or "" when unknown).
std::string locationString(Location loc);

} // namespace mlir::tfm::vk

#endif // TFM_TARGET_VULKAN_PLANNER_H
