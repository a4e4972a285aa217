//===- FuseEpilogue.cpp - bias and elementwise consumers into tfm.linear --===//
//
// Part of tfmc. Three patterns: a matmul by a [K, N] model weight becomes a
// linear; an added [N] bias becomes the linear's bias; and the elementwise
// ops fed only by the linear's result become its epilogue region, built from
// each op's ScalarComputeOpInterface (so no activation is special-cased).
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

    // Grow the cluster forward in program order: ops whose operands are
    // cluster values or leaves available before the linear.
    DominanceInfo dom(lin->getParentOp());
    llvm::SetVector<Operation *> cluster;
    llvm::DenseSet<Value> produced = {acc};
    auto isLeaf = [&](Value v) {
      return !produced.contains(v) && dom.properlyDominates(v, lin);
    };
    for (Operation *op = lin->getNextNode(); op; op = op->getNextNode()) {
      if (!isEligible(op, accType))
        continue;
      bool usesCluster = llvm::any_of(op->getOperands(), [&](Value v) {
        return produced.contains(v);
      });
      if (!usesCluster)
        continue;
      if (!llvm::all_of(op->getOperands(), [&](Value v) {
            return produced.contains(v) || isLeaf(v);
          }))
        continue;
      for (Value v : op->getOperands())
        if (!produced.contains(v) && elementTypeOf(v) != elementTypeOf(acc))
          return refuseWith("an epilogue operand has another element type");
      cluster.insert(op);
      produced.insert(op->getResult(0));
    }
    if (cluster.empty())
      return refuseWith("the elementwise consumers read values computed after "
                        "the linear");

    // Choose one output: the latest value whose backward closure inside the
    // cluster is self-contained (nothing but the output escapes).
    Operation *output = nullptr;
    llvm::SetVector<Operation *> chosen;
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
      bool accInside = llvm::all_of(acc.getUsers(), [&](Operation *u) {
        return closure.contains(u);
      });
      if (selfContained && accInside) {
        output = cand;
        for (Operation *op : cluster)
          if (closure.contains(op))
            chosen.insert(op);
        break;
      }
    }
    if (!output)
      return refuseWith("an intermediate of the elementwise chain is used "
                        "outside it");

    // Leaves: splat constants become region constants; tensors become
    // epilogue inputs.
    SmallVector<Value> inputs(lin.getEpilogueInputs());
    for (Operation *op : chosen)
      for (Value v : op->getOperands())
        if (!produced.contains(v) && !getSplatValue(v) &&
            !llvm::is_contained(inputs, v))
          inputs.push_back(v);

    Location loc = lin.getLoc();
    rewriter.setInsertionPoint(output);
    auto fused = LinearOp::create(rewriter, loc, accType, lin.getInput(),
                                  lin.getWeight(), lin.getBias(), inputs,
                                  lin.getWeightKn());
    Type elt = cast<RankedTensorType>(accType).getElementType();
    Block *body = rewriter.createBlock(&fused.getEpilogue());
    SmallVector<Location> locs(inputs.size() + 1, loc);
    body->addArguments(SmallVector<Type>(inputs.size() + 1, elt), locs);
    IRMapping scalar; // tensor value -> scalar value inside the region
    rewriter.setInsertionPointToStart(body);
    for (auto [i, in] : llvm::enumerate(inputs))
      scalar.map(in, body->getArgument(i + 1));
    Value accScalar = body->getArgument(0);
    if (lin.hasEpilogue()) {
      // Replay the existing epilogue first.
      Block &old = lin.getEpilogue().front();
      IRMapping m;
      m.map(old.getArgument(0), accScalar);
      for (auto [i, arg] : llvm::enumerate(old.getArguments().drop_front()))
        m.map(arg, body->getArgument(i + 1));
      for (Operation &op : old.without_terminator())
        rewriter.clone(op, m);
      accScalar = m.lookup(old.getTerminator()->getOperand(0));
    }
    scalar.map(acc, accScalar);
    for (Operation *op : chosen) {
      SmallVector<Value> args;
      for (Value v : op->getOperands()) {
        if (Value s = scalar.lookupOrNull(v))
          args.push_back(s);
        else
          args.push_back(arith::ConstantOp::create(
              rewriter, loc, elt,
              rewriter.getFloatAttr(elt, *getSplatValue(v))));
      }
      Value r = cast<ScalarComputeOpInterface>(op).buildScalarComputation(
          rewriter, op->getLoc(), args);
      scalar.map(op->getResult(0), r);
    }
    YieldOp::create(rewriter, loc, scalar.lookup(output->getResult(0)));

    rewriter.replaceOp(output, fused.getResult());
    for (Operation *op : llvm::reverse(chosen))
      if (op != output)
        rewriter.eraseOp(op);
    rewriter.eraseOp(lin);
    if (remarks)
      remarks->fused(fused, kInto);
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
  patterns.add<MatmulToLinear, BiasIntoLinear, ElementwiseIntoLinear>(
      patterns.getContext(), control, remarks);
}
