//===- FuseEpilogue.cpp - bias and elementwise consumers into tfm.linear --===//
//
// Part of tfmc. Four patterns: a matmul by a [K, N] model weight becomes a
// linear; an added [N] bias becomes the linear's bias; the elementwise ops
// fed only by the linear's result become its epilogue region, built from
// each op's ScalarComputeOpInterface (so no activation is special-cased);
// and elementwise ops that combine the two halves of one linear (a merged
// gate/up projection: act(gate) * up) make it a gated linear whose epilogue
// receives both halves.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#include "mlir/IR/Dominance.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "tfm-fuse-epilogue"

namespace mlir::tfm {
#define GEN_PASS_DEF_FUSEEPILOGUEPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr StringLiteral kInto = "tfm.linear (epilogue)";
static constexpr StringLiteral kIntoGated = "a gated tfm.linear";

namespace {

struct PatternBase {
  ControlFn control;
  FusionRemarks *remarks;
};

// Pattern: matmul(x, W : [K, N] model weight) -> linear(x, W) weight_kn
//          matmul(x, W : [N, K]) transpose_rhs -> linear(x, W)
struct MatmulToLinear final : OpRewritePattern<MatmulOp>, PatternBase {
  MatmulToLinear(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : OpRewritePattern(ctx), PatternBase{std::move(control), remarks} {}

  LogicalResult matchAndRewrite(MatmulOp mm,
                                PatternRewriter &rewriter) const override {
    if (mm.getRhs().getType().getRank() != 2 || mm.getTransposeLhs())
      return rewriter.notifyMatchFailure(mm, "not a product with a matrix");
    if (control && !control(mm))
      return rewriter.notifyMatchFailure(mm, "excluded by the control function");
    if (!mm.getRhs().getDefiningOp<WeightOp>())
      return refuse(rewriter, remarks, mm, "tfm.linear",
                    "the right operand is not a model weight");
    rewriter.replaceOpWithNewOp<LinearOp>(mm, mm.getLhs(), mm.getRhs(), Value(),
                                          /*weightKN=*/!mm.getTransposeRhs());
    return success();
  }
};

// Pattern: add(linear(x, W), b : [N]) -> linear(x, W) bias b
struct BiasIntoLinear final : OpRewritePattern<AddOp>, PatternBase {
  BiasIntoLinear(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : OpRewritePattern(ctx, /*benefit=*/2),
        PatternBase{std::move(control), remarks} {}

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (auto [acc, bias] : {std::pair{add.getLhs(), add.getRhs()},
                             std::pair{add.getRhs(), add.getLhs()}}) {
      auto lin = acc.getDefiningOp<LinearOp>();
      auto bt = cast<RankedTensorType>(bias.getType());
      if (!lin || lin.getBias() || lin.hasEpilogue() || bt.getRank() != 1 ||
          bt.getDimSize(0) != lin.getNumOutputFeatures() ||
          add.getType() != lin.getType())
        continue;
      if (control && !control(add))
        return rewriter.notifyMatchFailure(add, "excluded by the control function");
      if (!lin->hasOneUse())
        return refuse(rewriter, remarks, add, "tfm.linear bias",
                      "the linear's result without bias has another use");
      if (Operation *def = bias.getDefiningOp();
          def && lin->getBlock() == def->getBlock() && lin->isBeforeInBlock(def))
        return refuse(rewriter, remarks, add, "tfm.linear bias",
                      "the bias is computed after the linear");
      rewriter.setInsertionPoint(lin);
      auto fused = LinearOp::create(rewriter, lin.getLoc(), lin.getInput(),
                                    lin.getWeight(), bias, lin.getWeightKn());
      rewriter.replaceOp(add, fused.getResult());
      rewriter.eraseOp(lin);
      return success();
    }
    return rewriter.notifyMatchFailure(add, "not linear + [N] bias");
  }
};

/// An elementwise op that can join an epilogue: scalar semantics, one
/// result with the linear's type.
bool isEligible(Operation *op, Type accType) {
  return isa<ScalarComputeOpInterface>(op) && op->getNumResults() == 1 &&
         op->getResult(0).getType() == accType;
}

/// The elementwise ops that consume `seeds` (the values an epilogue starts
/// from: a linear's result, or the two halves of a gated one) and become
/// one epilogue: `chosen` in program order, ending in `output`, reading
/// `leaves` (tensors available before `anchor`) besides the seeds.
struct Cluster {
  llvm::SetVector<Operation *> chosen;
  Operation *output = nullptr;
  SmallVector<Value> leaves;
};

FailureOr<Cluster>
growCluster(Operation *anchor, ArrayRef<Value> seeds, Type accType,
            llvm::function_ref<LogicalResult(const Twine &)> refuseWith) {
  // Grow the cluster forward in program order: ops whose operands are
  // cluster values or leaves available before the anchor.
  DominanceInfo dom(anchor->getParentOp());
  llvm::SetVector<Operation *> cluster;
  llvm::DenseSet<Value> produced(seeds.begin(), seeds.end());
  auto isLeaf = [&](Value v) {
    return !produced.contains(v) && dom.properlyDominates(v, anchor);
  };
  for (Operation *op = anchor->getNextNode(); op; op = op->getNextNode()) {
    if (!isEligible(op, accType))
      continue;
    bool usesCluster = llvm::any_of(
        op->getOperands(), [&](Value v) { return produced.contains(v); });
    if (!usesCluster)
      continue;
    if (!llvm::all_of(op->getOperands(), [&](Value v) {
          return produced.contains(v) || isLeaf(v);
        }))
      continue;
    for (Value v : op->getOperands())
      if (!produced.contains(v) && elementTypeOf(v) != elementTypeOf(seeds[0]))
        return refuseWith("an epilogue operand has another element type");
    cluster.insert(op);
    produced.insert(op->getResult(0));
  }
  if (cluster.empty())
    return refuseWith("the elementwise consumers read values computed after "
                      "the linear");

  // Choose one output: the latest value whose backward closure inside the
  // cluster is self-contained (nothing but the output escapes) and holds
  // every use of the seeds.
  Cluster c;
  for (Operation *cand : llvm::reverse(cluster)) {
    llvm::SetVector<Operation *> closure;
    SmallVector<Operation *> work = {cand};
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!closure.insert(op))
        continue;
      for (Value v : op->getOperands())
        if (Operation *d = v.getDefiningOp(); d && cluster.contains(d))
          work.push_back(d);
    }
    bool selfContained = llvm::all_of(closure, [&](Operation *op) {
      return op == cand || llvm::all_of(op->getUsers(), [&](Operation *u) {
               return closure.contains(u);
             });
    });
    bool seedsInside = llvm::all_of(seeds, [&](Value seed) {
      return llvm::all_of(seed.getUsers(),
                          [&](Operation *u) { return closure.contains(u); });
    });
    if (selfContained && seedsInside) {
      c.output = cand;
      for (Operation *op : cluster)
        if (closure.contains(op))
          c.chosen.insert(op);
      break;
    }
  }
  if (!c.output)
    return refuseWith("an intermediate of the elementwise chain is used "
                      "outside it");
  // Leaves: splat constants become region constants; tensors become
  // epilogue inputs.
  for (Operation *op : c.chosen)
    for (Value v : op->getOperands())
      if (!produced.contains(v) && !getSplatValue(v) &&
          !llvm::is_contained(c.leaves, v))
        c.leaves.push_back(v);
  return c;
}

/// Replaces `lin` and the cluster by one linear whose epilogue replays the
/// linear's own epilogue (if any), then the cluster. `seeds[i]` is bound to
/// the accumulator i of the new linear (`gated`: two).
LinearOp buildFused(PatternRewriter &rewriter, LinearOp lin,
                    ArrayRef<Value> seeds, const Cluster &c, bool gated) {
  Value accOut = c.output->getResult(0);
  Type accType = accOut.getType();
  unsigned accs = seeds.size();
  SmallVector<Value> inputs(lin.getEpilogueInputs());
  for (Value v : c.leaves)
    if (!llvm::is_contained(inputs, v))
      inputs.push_back(v);
  Location loc = lin.getLoc();
  rewriter.setInsertionPoint(c.output);
  auto fused =
      LinearOp::create(rewriter, loc, accType, lin.getInput(), lin.getWeight(),
                       lin.getBias(), inputs, lin.getWeightKn(), gated);
  Type elt = cast<RankedTensorType>(accType).getElementType();
  Block *body = rewriter.createBlock(&fused.getEpilogue());
  SmallVector<Location> locs(inputs.size() + accs, loc);
  body->addArguments(SmallVector<Type>(inputs.size() + accs, elt), locs);
  IRMapping scalar; // tensor value -> scalar value inside the region
  rewriter.setInsertionPointToStart(body);
  for (auto [i, in] : llvm::enumerate(inputs))
    scalar.map(in, body->getArgument(i + accs));
  SmallVector<Value> accScalars(body->getArguments().take_front(accs));
  if (lin.hasEpilogue()) {
    // Replay the existing epilogue first: it yields the one seed.
    Block &old = lin.getEpilogue().front();
    unsigned oldAccs = lin.getNumAccumulators();
    IRMapping m;
    for (unsigned i = 0; i < oldAccs; ++i)
      m.map(old.getArgument(i), body->getArgument(i));
    for (auto [i, arg] :
         llvm::enumerate(old.getArguments().drop_front(oldAccs)))
      m.map(arg, body->getArgument(i + oldAccs));
    for (Operation &op : old.without_terminator())
      rewriter.clone(op, m);
    accScalars = {m.lookup(old.getTerminator()->getOperand(0))};
  }
  for (auto [seed, s] : llvm::zip(seeds, accScalars))
    scalar.map(seed, s);
  for (Operation *op : c.chosen) {
    SmallVector<Value> args;
    for (Value v : op->getOperands()) {
      if (Value s = scalar.lookupOrNull(v))
        args.push_back(s);
      else
        args.push_back(arith::ConstantOp::create(
            rewriter, loc, elt, rewriter.getFloatAttr(elt, *getSplatValue(v))));
    }
    Value r = cast<ScalarComputeOpInterface>(op).buildScalarComputation(
        rewriter, op->getLoc(), args);
    scalar.map(op->getResult(0), r);
  }
  YieldOp::create(rewriter, loc, scalar.lookup(accOut));

  rewriter.replaceOp(c.output, fused.getResult());
  for (Operation *op : llvm::reverse(c.chosen))
    if (op != c.output)
      rewriter.eraseOp(op);
  for (Value seed : seeds)
    if (Operation *def = seed.getDefiningOp(); def && def != lin)
      rewriter.eraseOp(def);
  rewriter.eraseOp(lin);
  return fused;
}

// Pattern: linear followed by elementwise ops it alone feeds
//          -> linear with those ops as its epilogue region
struct ElementwiseIntoLinear final : OpRewritePattern<LinearOp>, PatternBase {
  ElementwiseIntoLinear(MLIRContext *ctx, ControlFn control,
                        FusionRemarks *remarks)
      : OpRewritePattern(ctx), PatternBase{std::move(control), remarks} {}

  LogicalResult matchAndRewrite(LinearOp lin,
                                PatternRewriter &rewriter) const override {
    Value acc = lin.getResult();
    Type accType = acc.getType();
    if (llvm::none_of(acc.getUsers(),
                      [&](Operation *u) { return isEligible(u, accType); }))
      return rewriter.notifyMatchFailure(lin, "no elementwise consumer");
    if (control && !control(lin))
      return rewriter.notifyMatchFailure(lin, "excluded by the control function");
    auto refuseWith = [&](const Twine &why) {
      return refuse(rewriter, remarks, lin, kInto, why);
    };
    if (!llvm::all_of(acc.getUsers(),
                      [&](Operation *u) { return isEligible(u, accType); }))
      return refuseWith("the linear's result is also used by a non-elementwise op");
    FailureOr<Cluster> c = growCluster(lin, {acc}, accType, refuseWith);
    if (failed(c))
      return failure();
    LinearOp fused = buildFused(rewriter, lin, {acc}, *c, lin.getGated());
    if (remarks)
      remarks->fused(fused, kInto);
    return success();
  }
};

// Pattern: elementwise ops combining the two halves of one linear's result
//          (act(slice [0, H]) * slice [H, 2H], a merged gate/up projection)
//          -> gated linear with those ops as its epilogue region
struct GatedIntoLinear final : OpRewritePattern<LinearOp>, PatternBase {
  GatedIntoLinear(MLIRContext *ctx, ControlFn control, FusionRemarks *remarks)
      : OpRewritePattern(ctx), PatternBase{std::move(control), remarks} {}

  LogicalResult matchAndRewrite(LinearOp lin,
                                PatternRewriter &rewriter) const override {
    if (lin.hasEpilogue() || lin.getGated())
      return rewriter.notifyMatchFailure(lin, "already has an epilogue");
    int64_t n = lin.getNumOutputFeatures(), h = n / 2;
    int64_t axis = lin.getType().getRank() - 1;
    SliceOp halves[2] = {};
    for (Operation *u : lin->getUsers()) {
      auto s = dyn_cast<SliceOp>(u);
      if (!s || s.getAxis() != axis || s.getOffset() || n % 2 != 0 ||
          s.getEnd() - s.getStart() != h || s.getStart() % h != 0)
        return rewriter.notifyMatchFailure(lin, "not used by two halves");
      SliceOp &slot = halves[s.getStart() / h];
      if (slot)
        return rewriter.notifyMatchFailure(lin, "a half is sliced twice");
      slot = s;
    }
    if (!halves[0] || !halves[1])
      return rewriter.notifyMatchFailure(lin, "not used by two halves");
    Type accType = halves[0].getType();
    for (SliceOp s : halves)
      if (llvm::none_of(s->getUsers(),
                        [&](Operation *u) { return isEligible(u, accType); }))
        return rewriter.notifyMatchFailure(lin, "a half has no elementwise "
                                                "consumer");
    if (control && !control(lin))
      return rewriter.notifyMatchFailure(lin, "excluded by the control function");
    auto refuseWith = [&](const Twine &why) {
      return refuse(rewriter, remarks, lin, kIntoGated, why);
    };
    // The backends pack its panels at compile time (storage conversions
    // come after fusion).
    if (!lin.getWeight().getDefiningOp<WeightOp>())
      return refuseWith("the weight is not a model parameter");
    for (SliceOp s : halves)
      if (!llvm::all_of(s->getUsers(),
                        [&](Operation *u) { return isEligible(u, accType); }))
        return refuseWith("a half is also used by a non-elementwise op");
    Value seeds[2] = {halves[0].getResult(), halves[1].getResult()};
    FailureOr<Cluster> c = growCluster(lin, seeds, accType, refuseWith);
    if (failed(c))
      return failure();
    LinearOp fused = buildFused(rewriter, lin, seeds, *c, /*gated=*/true);
    if (remarks)
      remarks->fused(fused, kIntoGated);
    return success();
  }
};

struct FuseEpiloguePass final
    : tfm::impl::FuseEpiloguePassBase<FuseEpiloguePass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [](RewritePatternSet &p, FusionRemarks *r) {
              populateFuseEpiloguePatterns(p, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateFuseEpiloguePatterns(RewritePatternSet &patterns,
                                             const ControlFn &control,
                                             FusionRemarks *remarks) {
  patterns.add<MatmulToLinear, BiasIntoLinear, ElementwiseIntoLinear,
               GatedIntoLinear>(patterns.getContext(), control, remarks);
}
