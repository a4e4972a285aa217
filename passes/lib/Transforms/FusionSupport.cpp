//===- FusionSupport.cpp - fusion remarks and matching helpers ------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmOps.h"
#include "tfm/Transforms/FusionRemarks.h"
#include "tfm/Transforms/MatchUtils.h"

#include "mlir/IR/Matchers.h"
#include "llvm/Support/Format.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;

//===----------------------------------------------------------------------===//
// Remarks
//===----------------------------------------------------------------------===//

std::string mlir::tfm::scopeName(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getName().str();
  if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations())
      if (std::string s = scopeName(l); !s.empty())
        return s;
  return "";
}

static std::string withScope(Location loc, const Twine &msg) {
  std::string scope = scopeName(loc);
  return scope.empty() ? msg.str() : ("[" + scope + "] " + msg).str();
}

void FusionRemarks::fused(Operation *op, StringRef into) {
  fusions[op] = withScope(op->getLoc(), "fused into " + into);
}

void FusionRemarks::refused(Operation *anchor, StringRef into,
                            const Twine &why) {
  refusals[anchor] = Refusal{into.str(), why.str()};
}

void FusionRemarks::emit(Operation *root) {
  root->walk([&](Operation *op) {
    if (auto it = fusions.find(op); it != fusions.end())
      emitRemark(op->getLoc()) << it->second;
    if (auto it = refusals.find(op); it != refusals.end())
      emitRemark(op->getLoc()) << withScope(op->getLoc(),
                                            "not fused into " + it->second.into +
                                                ": " + it->second.why);
  });
  fusions.clear();
  refusals.clear();
}

LogicalResult mlir::tfm::refuse(PatternRewriter &rewriter,
                                FusionRemarks *remarks, Operation *anchor,
                                StringRef into, const Twine &why) {
  if (remarks)
    remarks->refused(anchor, into, why);
  std::string msg = why.str();
  return rewriter.notifyMatchFailure(anchor, msg);
}

//===----------------------------------------------------------------------===//
// Matchers
//===----------------------------------------------------------------------===//

Type mlir::tfm::elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

std::string mlir::tfm::formatNumber(double v) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%g", v);
  return s;
}

bool mlir::tfm::approxEqual(double a, double b, double relTol) {
  return std::fabs(a - b) <= relTol * std::max(std::fabs(a), std::fabs(b));
}

std::optional<double> mlir::tfm::getSplatValue(Value v) {
  DenseFPElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool mlir::tfm::onlyUsedBy(Value v, ArrayRef<Operation *> users) {
  return llvm::all_of(v.getUsers(), [&](Operation *u) {
    return llvm::is_contained(users, u);
  });
}

std::optional<Scaled> mlir::tfm::matchScaled(Value v) {
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto s = dyn_cast<ScaleOp>(op))
    return Scaled{s.getInput(), s.getFactor().convertToDouble(), op};
  auto sameShape = [&](Value x) { return x.getType() == v.getType(); };
  if (auto m = dyn_cast<MulOp>(op)) {
    if (auto c = getSplatValue(m.getRhs()); c && sameShape(m.getLhs()))
      return Scaled{m.getLhs(), *c, op};
    if (auto c = getSplatValue(m.getLhs()); c && sameShape(m.getRhs()))
      return Scaled{m.getRhs(), *c, op};
  }
  if (auto d = dyn_cast<DivOp>(op))
    if (auto c = getSplatValue(d.getRhs()); c && *c != 0.0 && sameShape(d.getLhs()))
      return Scaled{d.getLhs(), 1.0 / *c, op};
  return std::nullopt;
}

std::optional<std::pair<Value, double>> mlir::tfm::matchAddConstant(Value v) {
  auto add = v.getDefiningOp<AddOp>();
  if (!add)
    return std::nullopt;
  if (auto c = getSplatValue(add.getRhs()); c && add.getLhs().getType() == v.getType())
    return std::make_pair(add.getLhs(), *c);
  if (auto c = getSplatValue(add.getLhs()); c && add.getRhs().getType() == v.getType())
    return std::make_pair(add.getRhs(), *c);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Driver shared by the fusion passes
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

LogicalResult mlir::tfm::applyFusionPatterns(
    Operation *root,
    llvm::function_ref<void(RewritePatternSet &, FusionRemarks *)> populate,
    bool remarks) {
  FusionRemarks collector;
  RewritePatternSet patterns(root->getContext());
  populate(patterns, remarks ? &collector : nullptr);
  GreedyRewriteConfig config;
  if (remarks)
    config.setListener(&collector);
  if (failed(applyPatternsGreedily(root, std::move(patterns), config)))
    return root->emitError("fusion patterns did not converge");
  if (remarks)
    collector.emit(root);
  return success();
}
