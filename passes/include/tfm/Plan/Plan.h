//===- Plan.h - the target-independent plan under fused tfm -----*- C++ -*-===//
//
// Part of tfmc. Between the fusion pipeline and code generation, the
// planning passes compute once, for every target:
//
//  * the ABI of each entry point (tfm-plan-entries -> #tfm.entry);
//  * the weights buffer: element type, layout and offset of every stored
//    tensor (tfm-plan-weights -> #tfm.weight_plan);
//  * views: which results are strided views of an operand (reshape,
//    transpose, slice, in-place cache writes) and where a kernel needs a
//    copy instead (tfm-plan-views -> tfm.copy ops);
//  * memory: upper bounds of every run-time size, live ranges and one arena
//    placement for every value and kernel scratch range (tfm-plan-buffers ->
//    tfm.buffers / tfm.scratch, #tfm.entry's offsets and arena size).
//
// Targets describe themselves by a PlanOptions value (panel width, buffer
// alignment, where entry tensors live, the scratch their kernels need);
// the algorithms are shared. docs/architecture.md draws the data flow.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PLAN_PLAN_H
#define TFM_PLAN_PLAN_H

#include "tfm/IR/TfmOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"

#include <functional>
#include <memory>

namespace mlir::tfm {

class ShapeBounds;

/// Bytes of arena memory a target's kernel for `op` needs while it runs
/// (0: none), given upper bounds of the sizes involved.
using ScratchFn = std::function<int64_t(Operation *op, ShapeBounds &bounds)>;

/// What the plan needs to know about a target.
struct PlanOptions {
  /// Width of the GEMM weight panels ([ceil(N/w), K, w]).
  int64_t panelWidth = 16;
  /// An embedding table that is otherwise only the weight of linears (a
  /// tied LM head) is read from the head's panels instead of stored twice.
  bool embeddingFromPanels = false;
  /// Rows of generated positional tables (0: the longest static sequence).
  int64_t maxPositions = 0;
  /// Alignment of every arena range in bytes.
  int64_t alignment = 64;
  /// Entry inputs and outputs live in the arena (a device buffer) rather
  /// than in buffers the caller passes.
  bool ioInArena = false;
  /// Scratch memory of the target's kernels.
  ScratchFn scratch;
};

/// Registers the scratch function of a target under `name`, so that the
/// `tfm-plan-buffers{target=NAME}` pass option can find it.
void registerPlanTarget(llvm::StringRef name, ScratchFn scratch);
/// The scratch function registered under `name` (null when none).
ScratchFn lookupPlanTarget(llvm::StringRef name);

//===----------------------------------------------------------------------===//
// Upper bounds of run-time sizes
//===----------------------------------------------------------------------===//

/// Upper bounds of every dimension of every tensor and of every index value
/// of an entry function. Static sizes are exact; dynamic dimensions of the
/// arguments are bounded by the entry's named-dimension bounds and index
/// arguments by `indexBound`; everything else follows from the ops' shape
/// rules (ShapeBounds.cpp), by interval arithmetic.
class ShapeBounds {
public:
  ShapeBounds(func::FuncOp fn, DictionaryAttr dimBounds, int64_t indexBound);
  /// Bounds every value of `fn` (the function given to the constructor);
  /// fails with an error at the first op whose sizes cannot be bounded.
  LogicalResult run(func::FuncOp fn);

  /// Upper bound of each dimension of `v`; failure (with an error at the
  /// op) when a dynamic dimension cannot be bounded.
  FailureOr<ArrayRef<int64_t>> shape(Value v);
  /// Upper bound of an index value.
  FailureOr<int64_t> index(Value v);
  /// Upper bound of the bytes of tensor `v`.
  FailureOr<int64_t> bytes(Value v);

private:
  LogicalResult visit(Operation *op);
  llvm::DenseMap<Value, SmallVector<int64_t>> shapes;
  llvm::DenseMap<Value, std::pair<int64_t, int64_t>> indices; // [lo, hi]
  int64_t indexBound;
};

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

/// What a kernel needs of an operand's memory layout. Both targets' kernels
/// accept at least this much, so the plan is the same for both.
enum class LayoutNeed {
  Any,        ///< any strided view
  Batched,    ///< the dims before the last two merge into one batch dim
  Rows,       ///< unit inner stride; the dims before the last merge into rows
  Contiguous, ///< row-major, dense
};

/// The layout `operand`'s kernel needs (Any for ops with no kernel).
LayoutNeed layoutNeed(OpOperand &operand);

/// True for ops whose result is a view of operand 0 (no memory of its own):
/// reshape, transpose, slice, and an in-place tfm.cache_write.
bool isViewOp(Operation *op);

/// A tfm.convert that widens a stored weight which only GEMM and gather
/// kernels read (tfm-convert-weights): it has no memory and no kernel, its
/// readers widen while they load.
bool isLoadFusedConvert(Operation *op);
/// The weight `v` reads: a tfm.weight, or one through a load-fused convert
/// (null otherwise).
WeightOp storedWeight(Value v);

//===----------------------------------------------------------------------===//
// Arena placement
//===----------------------------------------------------------------------===//

/// One request of arena memory, live over [begin, end] (op positions).
struct ArenaRequest {
  int64_t bytes = 0;
  int64_t begin = 0, end = 0;
  int64_t offset = -1; ///< assigned by placeArena
};

/// Places requests whose live ranges overlap at disjoint, `alignment`-
/// aligned offsets, largest first at the lowest offset that fits; returns
/// the arena's size (a multiple of `alignment`). The one allocator every
/// target's memory comes from.
int64_t placeArena(MutableArrayRef<ArenaRequest> requests, int64_t alignment);

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

/// Name of a generated table (layout sinusoidal or rotary) with `rows` rows
/// of `cols` columns and wavelength `base`.
std::string generatedTableName(WeightLayout layout, int64_t rows, int64_t cols,
                               double base);
/// Rows of the position table an op reads: `maxPositions` rows, or its
/// static length when larger or when no maximum is set; positions at a
/// run-time offset or of a run-time length need the maximum (0: unknown).
int64_t positionTableRows(bool runtimePositions, int64_t length,
                          int64_t maxPositions);
/// True when embedding table `table` is read from the GEMM panels of the
/// linears it is otherwise only the weight of.
bool readsEmbeddingFromPanels(Value table);
/// The smallest table row count among the embeddings and gathers that index
/// with entry argument `arg`: the bound token ids are checked against (0
/// when `arg` indexes nothing).
int64_t tokenIdBound(Value arg);

//===----------------------------------------------------------------------===//
// Passes and the pipeline
//===----------------------------------------------------------------------===//

#define GEN_PASS_DECL
#include "tfm/Plan/Passes.h.inc"

/// tfm-plan-weights with the options of `opts`.
std::unique_ptr<Pass> createPlanWeightsPass(const PlanOptions &opts);
/// tfm-plan-buffers with the options (and scratch function) of `opts`.
std::unique_ptr<Pass> createPlanBuffersPass(const PlanOptions &opts);

/// The planning passes, in order: tfm-legalize-for-kernels, tfm-plan-entries,
/// tfm-plan-weights, tfm-plan-views, tfm-plan-buffers.
void buildPlanPipeline(OpPassManager &pm, const PlanOptions &opts);

#define GEN_PASS_REGISTRATION
#include "tfm/Plan/Passes.h.inc"

} // namespace mlir::tfm

#endif // TFM_PLAN_PLAN_H
