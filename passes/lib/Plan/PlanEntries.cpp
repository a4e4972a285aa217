//===- PlanEntries.cpp - the ABI of every entry function ------------------===//
//
// Part of tfmc. Reads the frontend's `tfm.name` / `tfm.dim_names` /
// `tfm.tied_to` / `tfm.dim_bounds` once and records the typed #tfm.entry
// that every later stage uses.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "tfm-plan-entries"

namespace mlir::tfm {
#define GEN_PASS_DEF_PLANENTRIESPASS
#include "tfm/Plan/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

int64_t mlir::tfm::tokenIdBound(Value arg) {
  int64_t bound = 0;
  for (Operation *user : arg.getUsers()) {
    int64_t rows = 0;
    if (auto e = dyn_cast<EmbeddingOp>(user); e && e.getIds() == arg)
      rows = e.getTable().getType().getDimSize(0);
    if (auto g = dyn_cast<GatherOp>(user); g && g.getIndices() == arg)
      rows = g.getInput().getType().getDimSize(g.getAxis());
    if (rows > 0)
      bound = bound ? std::min(bound, rows) : rows;
  }
  return bound;
}

namespace {
struct PlanEntriesPass final : tfm::impl::PlanEntriesPassBase<PlanEntriesPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && failed(plan(fn)))
        return signalPassFailure();
  }

  LogicalResult plan(func::FuncOp fn) {
    MLIRContext *ctx = &getContext();
    FunctionType type = fn.getFunctionType();
    DictionaryAttr bounds = fn->getAttrOfType<DictionaryAttr>(attr::kDimBounds);
    if (!bounds)
      bounds = DictionaryAttr::get(ctx);
    SmallVector<int64_t> tiedTo(type.getNumResults(), -1);
    llvm::DenseSet<int64_t> stateArgs;
    for (unsigned r = 0; r < type.getNumResults(); ++r)
      if (auto t = fn.getResultAttrOfType<IntegerAttr>(r, attr::kTiedTo)) {
        tiedTo[r] = t.getInt();
        if (!stateArgs.insert(t.getInt()).second)
          return fn.emitError("two results are tied to argument ")
                 << t.getInt();
      }

    auto io = [&](Type t, DictionaryAttr attrs, IoRole role, int64_t index,
                  StringRef fallback) -> FailureOr<IoAttr> {
      auto name = attrs ? attrs.getAs<StringAttr>(attr::kName) : StringAttr();
      if (!name)
        name = StringAttr::get(ctx, fallback);
      SmallVector<StringAttr> dims;
      if (auto names =
              attrs ? attrs.getAs<ArrayAttr>(attr::kDimNames) : ArrayAttr())
        for (Attribute n : names)
          dims.push_back(cast<StringAttr>(n));
      auto rt = dyn_cast<RankedTensorType>(t);
      if (!rt && !t.isIndex())
        return fn.emitError("entry tensor '")
               << name.getValue() << "' must be a ranked tensor or an index, "
               << "got " << t;
      if (rt && dims.empty() && !rt.hasStaticShape())
        return fn.emitError("entry tensor '")
               << name.getValue()
               << "' has dynamic dimensions but no tfm.dim_names";
      for (StringAttr d : dims)
        if (!d.getValue().empty() && !bounds.get(d.getValue()))
          return fn.emitError("dimension '")
                 << d.getValue() << "' of '" << name.getValue()
                 << "' has no bound in tfm.dim_bounds";
      int64_t idBound =
          role == IoRole::input && rt && isa<IntegerType>(rt.getElementType())
              ? tokenIdBound(fn.getArgument(index))
              : 0;
      return IoAttr::get(ctx, name, t, role, dims, idBound, index,
                         /*offset=*/-1, /*bytes=*/0);
    };

    SmallVector<IoAttr> inputs, outputs;
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      FailureOr<IoAttr> a =
          io(type.getInput(i), fn.getArgAttrDict(i),
             stateArgs.contains(i) ? IoRole::state : IoRole::input, i,
             ("arg" + Twine(i)).str());
      if (failed(a))
        return failure();
      inputs.push_back(*a);
    }
    for (unsigned r = 0; r < type.getNumResults(); ++r) {
      if (tiedTo[r] >= 0)
        continue;
      FailureOr<IoAttr> a = io(type.getResult(r), fn.getResultAttrDict(r),
                               IoRole::output, r, ("result" + Twine(r)).str());
      if (failed(a))
        return failure();
      outputs.push_back(*a);
    }
    llvm::StringSet<> names;
    for (IoAttr a : llvm::concat<IoAttr>(inputs, outputs))
      if (!names.insert(a.getName().getValue()).second)
        return fn.emitError("two entry tensors are named '")
               << a.getName().getValue() << "'";
    fn->setAttr(attr::kEntry,
                EntryAttr::get(ctx, inputs, outputs, bounds, /*arena=*/0));
    return success();
  }
};
} // namespace
