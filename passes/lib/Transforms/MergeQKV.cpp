//===- MergeQKV.cpp - linears on one input into one wider linear ----------===//
//
// Part of tfmc. The merged weight is a derived tfm.weight (`concat [...]
// axis N`): backends concatenate the stored tensors when they write the
// artifact, so the merge costs nothing at run time.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#define DEBUG_TYPE "tfm-merge-qkv"

namespace mlir::tfm {
#define GEN_PASS_DEF_MERGEQKVPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr StringLiteral kInto = "a merged tfm.linear";

/// "a.q_proj.weight", "a.k_proj.weight" -> "a.{q,k}_proj.weight".
static std::string mergedName(ArrayRef<std::string> names) {
  size_t prefix = names[0].size(), suffix = names[0].size();
  for (const std::string &n : names) {
    size_t p = 0;
    while (p < prefix && p < n.size() && n[p] == names[0][p])
      ++p;
    prefix = p;
    size_t s = 0;
    while (s < suffix && s < n.size() &&
           n[n.size() - 1 - s] == names[0][names[0].size() - 1 - s])
      ++s;
    suffix = s;
  }
  size_t shortest = names[0].size();
  for (const std::string &n : names)
    shortest = std::min(shortest, n.size());
  if (prefix + suffix > shortest)
    suffix = shortest - prefix;
  std::string out = names[0].substr(0, prefix) + "{";
  for (auto [i, n] : llvm::enumerate(names))
    out += (i ? "," : "") + n.substr(prefix, n.size() - prefix - suffix);
  return out + "}" + names[0].substr(names[0].size() - suffix);
}

namespace {
// Pattern: linear(x, Wa, ba), linear(x, Wb, bb), ...
//          -> slices of linear(x, concat(Wa, Wb, ...), concat(ba, bb, ...))
struct MergeLinears final : OpRewritePattern<LinearOp> {
  MergeLinears(MLIRContext *ctx, unsigned minGroup, ControlFn control,
               FusionRemarks *remarks)
      : OpRewritePattern(ctx), minGroup(minGroup), control(std::move(control)),
        remarks(remarks) {}

  LogicalResult matchAndRewrite(LinearOp first,
                                PatternRewriter &rewriter) const override {
    // The group: every linear reading the same input in this block, the
    // pattern fires at the first one.
    SmallVector<LinearOp> group;
    for (Operation *user : first.getInput().getUsers())
      if (auto l = dyn_cast<LinearOp>(user);
          l && l.getInput() == first.getInput() &&
          l->getBlock() == first->getBlock())
        group.push_back(l);
    llvm::sort(group, [](LinearOp a, LinearOp b) {
      return a->isBeforeInBlock(b);
    });
    if (group.size() < 2 || group.front() != first)
      return rewriter.notifyMatchFailure(first, "no sibling linear first here");
    if (control && !control(first))
      return rewriter.notifyMatchFailure(first, "excluded by the control function");
    auto refuseWith = [&](const Twine &why) {
      return refuse(rewriter, remarks, first, kInto, why);
    };
    if (group.size() < minGroup)
      return refuseWith("only " + Twine(group.size()) +
                        " linears share the input (min-group = " +
                        Twine(minGroup) + ")");
    bool kn = first.getWeightKn();
    bool biased = static_cast<bool>(first.getBias());
    Type elt = elementTypeOf(first.getWeight());
    SmallVector<std::string> wNames, bNames;
    int64_t total = 0;
    int64_t k = kn ? first.getWeight().getType().getDimSize(0)
                   : first.getWeight().getType().getDimSize(1);
    for (LinearOp l : group) {
      if (l.hasEpilogue())
        return refuseWith("a linear of the group already has an epilogue");
      if (l.getWeightKn() != kn)
        return refuseWith("the weights of the group have different layouts");
      if (static_cast<bool>(l.getBias()) != biased)
        return refuseWith("some linears of the group have a bias and some not");
      auto w = l.getWeight().getDefiningOp<WeightOp>();
      auto b = biased ? l.getBias().getDefiningOp<WeightOp>() : WeightOp();
      if (!w || w.getParts() || (biased && (!b || b.getParts())))
        return refuseWith("a weight or bias is not a stored model parameter");
      if (elementTypeOf(l.getWeight()) != elt)
        return refuseWith("the weights have different element types");
      wNames.push_back(w.getName().str());
      if (biased)
        bNames.push_back(b.getName().str());
      total += l.getNumOutputFeatures();
    }

    Location loc = rewriter.getFusedLoc(
        llvm::map_to_vector(group, [](LinearOp l) { return l.getLoc(); }));
    rewriter.setInsertionPoint(first);
    auto strings = [&](ArrayRef<std::string> names) {
      return rewriter.getStrArrayAttr(llvm::map_to_vector(
          names, [](const std::string &s) { return StringRef(s); }));
    };
    auto wType = RankedTensorType::get(
        kn ? SmallVector<int64_t>{k, total} : SmallVector<int64_t>{total, k},
        elt);
    Value w = WeightOp::create(rewriter, loc, wType,
                               rewriter.getStringAttr(mergedName(wNames)),
                               strings(wNames),
                               rewriter.getI64IntegerAttr(kn ? 1 : 0));
    Value b;
    if (biased)
      b = WeightOp::create(rewriter, loc, RankedTensorType::get({total}, elt),
                           rewriter.getStringAttr(mergedName(bNames)),
                           strings(bNames), rewriter.getI64IntegerAttr(0));
    auto merged = LinearOp::create(rewriter, loc, first.getInput(), w, b, kn);
    int64_t axis = merged.getType().getRank() - 1, offset = 0;
    for (LinearOp l : group) {
      int64_t n = l.getNumOutputFeatures();
      Value part = SliceOp::create(rewriter, l.getLoc(), merged, axis, offset,
                                   offset + n);
      offset += n;
      rewriter.replaceOp(l, part);
    }
    if (remarks)
      remarks->fused(merged, kInto);
    return success();
  }

  unsigned minGroup;
  ControlFn control;
  FusionRemarks *remarks;
};

struct MergeQKVPass final : tfm::impl::MergeQKVPassBase<MergeQKVPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(applyFusionPatterns(
            getOperation(),
            [this](RewritePatternSet &p, FusionRemarks *r) {
              populateMergeQKVPatterns(p, minGroup, {}, r);
            },
            remarks)))
      signalPassFailure();
  }
};
} // namespace

void mlir::tfm::populateMergeQKVPatterns(RewritePatternSet &patterns,
                                         unsigned minGroup,
                                         const ControlFn &control,
                                         FusionRemarks *remarks) {
  patterns.add<MergeLinears>(patterns.getContext(), minGroup, control, remarks);
}
