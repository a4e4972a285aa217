//===- Planner.h - fused tfm IR to a Vulkan dispatch plan -------*- C++ -*-===//
//
// Part of tfmc. Internal to compiler/target/vulkan. The planner walks one
// entry function of a planned module in program order (every result's
// memory comes from tfm.buffers, every weight from #tfm.weight_plan), maps
// tensors to views and index values to scalar slots, and calls one kernel
// generator per op (Kernels*.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_VULKAN_PLANNER_H
#define TFM_TARGET_VULKAN_PLANNER_H

#include "Glsl.h"

#include "tfm/IR/TfmOps.h"
#include "tfm/Plan/Plan.h"

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
          WeightPlanAttr weights, int64_t indexBound)
      : module(module), entry(entry), target(target), weights(weights),
        indexBound(indexBound) {}

  /// Plans `fn` into `entry`.
  LogicalResult run(func::FuncOp fn);

  ModulePlan &module;
  EntryPlan &entry;
  const VulkanTarget &target;
  WeightPlanAttr weights;
  int64_t indexBound; ///< largest value of an index input (past_length)
  Scalars &S() { return entry.scalars; }

  // Views ------------------------------------------------------------------
  /// The view a tensor value was planned to (weights on first use).
  FailureOr<View> view(Value tensor);
  /// The slot or constant of an index value.
  FailureOr<Sym> index(Value v);
  /// The planned memory of result `r` of the op being planned, as a dense
  /// tensor of `dims`.
  View result(Value r, llvm::ArrayRef<Sym> dims);
  /// Dense memory of `dims` from the scratch range the plan reserved for
  /// the op being planned (vulkanScratchBytes).
  View scratch(llvm::ArrayRef<Sym> dims, Elem elt = Elem::F32);
  /// Row-major strides of `dims`.
  llvm::SmallVector<Sym, 4> contiguousStrides(llvm::ArrayRef<Sym> dims);
  bool isContiguous(const View &v);
  /// `v`, which the plan made dense (an internal error otherwise).
  View contiguous(const View &v);
  /// `v` broadcast (right-aligned, NumPy rules) to `dims`.
  View broadcastTo(const View &v, llvm::ArrayRef<Sym> dims);
  /// Product of `dims`.
  Sym numel(llvm::ArrayRef<Sym> dims);
  /// Dims of a tensor type, dynamic ones from `like` (same rank).
  llvm::SmallVector<Sym, 4> dimsOf(Value result);
  /// A contiguous view of weights-buffer entry `placed` with `shape`.
  View weightView(WeightEntryAttr placed, llvm::ArrayRef<int64_t> shape);
  /// A weight in GEMM panels of width `nr`: [ceil(N/nr), K, nr].
  FailureOr<View> weightPanels(WeightOp op, bool kn, int64_t nr,
                               WeightLayout layout = WeightLayout::gemm_panels);
  /// The planned sinusoidal table of `d` features ([rows, d]).
  FailureOr<View> generatedTable(WeightLayout layout, int64_t cols, double base,
                                 double scaling = 1.0);

  // Dispatches ---------------------------------------------------------------
  /// Adds a dispatch of the kernel `w` describes over `groups` workgroups.
  void dispatch(KernelWriter &w, Sym gx, Sym gy, Sym gz);
  /// Workgroups for `n` elements with `perGroup` each (capped; kernels loop).
  Sym groupsFor(Sym n, int64_t perGroup);
  /// out[c] = body(ins[c]) for every coordinate c of `out` (inputs already
  /// broadcast to out's dims).
  LogicalResult pointwise(const View &out, llvm::ArrayRef<View> ins,
                          const PointwiseBody &body,
                          const std::string &kind = "pointwise");
  /// pointwise(), then `result` is `out`.
  LogicalResult produce(Value result, const View &out, llvm::ArrayRef<View> ins,
                        const PointwiseBody &body, const std::string &kind) {
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
  LogicalResult genMoE(Operation *op);

  /// Where the current op comes from, for the kernel's comment.
  std::string origin;
  /// The op being planned.
  Operation *current = nullptr;
  /// Set when an internal error was reported.
  bool hadError = false;
  void bind(Value v, View view) { views[v] = std::move(view); }

private:
  LogicalResult planOp(Operation &op);
  LogicalResult finishEntry(func::FuncOp fn);
  void placeBarriers();
  int newStorage(Buf buf, int64_t offset, int64_t bytes);

  llvm::DenseMap<Value, View> views;
  llvm::DenseMap<Value, Sym> indices;
  std::vector<int> outputStorage;            ///< per output: its storage
  llvm::DenseMap<int64_t, int> stateStorage; ///< by argument index
  int64_t scratchUsed = 0;
  func::FuncOp function;
};

/// Scratch bytes genMoE takes for `op` (0 for other ops).
int64_t moeScratchBytes(Operation *op, ShapeBounds &bounds);

/// `op`'s location as "file:line:col" (or "" when unknown).
std::string locationString(Location loc);

} // namespace mlir::tfm::vk

#endif // TFM_TARGET_VULKAN_PLANNER_H
