//===- PlanViews.cpp - views, and the copies kernels need -----------------===//
//
// Part of tfmc. Follows the strides of every value symbolically: a dynamic
// size is a symbol, a stride a product of sizes. A fresh buffer is
// row-major; transposes permute, slices shrink a dimension, reshapes of a
// dense buffer start a new row-major view and in-place cache writes keep
// their cache's layout. Where an operand's layout is not what its kernel
// needs (layoutNeed), or an entry result cannot be written in place, a
// tfm.copy is inserted.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

#define DEBUG_TYPE "tfm-plan-views"

namespace mlir::tfm {
#define GEN_PASS_DEF_PLANVIEWSPASS
#include "tfm/Plan/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {
/// coeff * s_1 * s_2 * ... over dynamic-size symbols.
struct Mono {
  int64_t coeff = 1;
  SmallVector<unsigned, 2> syms; // sorted
  bool operator==(const Mono &o) const {
    return coeff == o.coeff && syms == o.syms;
  }
  bool isConst(int64_t v) const { return syms.empty() && coeff == v; }
  Mono operator*(const Mono &o) const {
    Mono r{coeff * o.coeff, syms};
    r.syms.append(o.syms.begin(), o.syms.end());
    llvm::sort(r.syms);
    return r;
  }
};

/// The strided layout of a value in its root buffer.
struct Layout {
  SmallVector<Mono, 4> sizes, strides;

  int64_t rank() const { return sizes.size(); }

  /// Do dims [from, to) merge into one (size-1 dims ignored)?
  bool merges(int64_t from, int64_t to) const {
    std::optional<int64_t> inner;
    for (int64_t d = to - 1; d >= from; --d) {
      if (sizes[d].isConst(1))
        continue;
      if (inner && !(strides[d] == strides[*inner] * sizes[*inner]))
        return false;
      inner = d;
    }
    return true;
  }
  bool unitInner() const {
    return rank() == 0 || sizes.back().isConst(1) || strides.back().isConst(1);
  }
  /// The innermost dim that is not 1 has stride 1 (a slice of [.., n, 2]
  /// to [.., n, 1] leaves stride 2 there, under a unit last dim).
  bool denseInner() const {
    for (int64_t d = rank() - 1; d >= 0; --d)
      if (!sizes[d].isConst(1))
        return strides[d].isConst(1);
    return true;
  }
  bool contiguous() const { return denseInner() && merges(0, rank()); }
  bool satisfies(LayoutNeed need) const {
    switch (need) {
    case LayoutNeed::Any:
      return true;
    case LayoutNeed::Batched:
      return rank() < 3 || merges(0, rank() - 2);
    case LayoutNeed::Rows:
      return unitInner() && (rank() < 2 || merges(0, rank() - 1));
    case LayoutNeed::Contiguous:
      return contiguous();
    }
    llvm_unreachable("unknown need");
  }
};

struct PlanViewsPass final : tfm::impl::PlanViewsPassBase<PlanViewsPass> {
  llvm::DenseMap<Value, Layout> layouts;
  llvm::DenseMap<Value, Value> rootOf;           // alias root of every view
  llvm::DenseMap<Operation *, int64_t> position; // in the entry's block
  unsigned nextSym = 0;

  Layout rowMajor(Type type) {
    Layout l;
    auto t = cast<RankedTensorType>(type);
    for (int64_t d : t.getShape())
      l.sizes.push_back(ShapedType::isDynamic(d) ? Mono{1, {nextSym++}}
                                                 : Mono{d, {}});
    l.strides.resize(t.getRank());
    Mono s;
    for (int64_t d = t.getRank() - 1; d >= 0; --d) {
      l.strides[d] = s;
      s = s * l.sizes[d];
    }
    return l;
  }

  Value root(Value v) {
    auto it = rootOf.find(v);
    return it == rootOf.end() ? v : it->second;
  }

  /// Records the layout (and alias root) of op's results.
  void visit(Operation *op) {
    for (Value r : op->getResults())
      if (isa<RankedTensorType>(r.getType()))
        layouts[r] = rowMajor(r.getType());
    if (!isViewOp(op))
      return;
    Value in = op->getOperand(0), out = op->getResult(0);
    rootOf[out] = root(in);
    const Layout &l = layouts[in];
    if (auto t = dyn_cast<TransposeOp>(op)) {
      Layout p;
      for (int64_t i : t.getPermutation()) {
        p.sizes.push_back(l.sizes[i]);
        p.strides.push_back(l.strides[i]);
      }
      layouts[out] = p;
    } else if (auto s = dyn_cast<SliceOp>(op)) {
      Layout p = l;
      p.sizes[s.getAxis()] =
          Mono{static_cast<int64_t>(s.getEnd() - s.getStart()), {}};
      layouts[out] = p;
    } else if (isa<CacheWriteOp>(op)) {
      layouts[out] = l;
    }
    // A reshape's operand is dense (ensured before), so the result is a
    // row-major view of the same memory.
  }

  /// A copy of `v` placed before `before` (one per value and block point).
  Value copyOf(Value v, Operation *before) {
    OpBuilder b(before);
    auto copy = CopyOp::create(b, before->getLoc(), v);
    position[copy] = position.lookup(before);
    layouts[copy] = rowMajor(v.getType());
    return copy;
  }

  /// Can `cw` update its cache operand in place: the cache's memory is ours
  /// to change (not a caller's input, a weight or a table) and nothing reads
  /// it, or another view of it, after `cw`.
  bool canUpdateInPlace(CacheWriteOp cw, func::FuncOp fn, EntryAttr entry) {
    Value cache = cw.getCache();
    if (!cache.hasOneUse())
      return false;
    Value r = root(cache);
    if (auto arg = dyn_cast<BlockArgument>(r)) {
      bool state = false;
      for (IoAttr io : entry.getInputs())
        if (io.getArg() == arg.getArgNumber())
          state = io.getRole() == IoRole::state;
      if (!state)
        return false;
    } else if (isa<WeightOp, PositionalEncodingOp, ConstantOp>(
                   r.getDefiningOp())) {
      return false;
    }
    // Every alias of the root: views of views, forward.
    int64_t at = position[cw];
    Block &body = fn.getBody().front();
    SmallVector<Value> work = {r};
    llvm::DenseSet<Value> seen;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (!seen.insert(v).second || v == cw.getResult())
        continue;
      for (Operation *u : v.getUsers()) {
        Operation *top = body.findAncestorOpInBlock(*u);
        if (!top || top == cw.getOperation())
          continue;
        if (position.lookup(top) > at)
          return false;
        if (isViewOp(top) && top->getOperand(0) == v)
          work.push_back(top->getResult(0));
      }
    }
    return true;
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    layouts.clear();
    rootOf.clear();
    position.clear();
    EntryAttr entry = getEntryAttr(fn);
    if (!entry) {
      fn.emitError("needs its #tfm.entry (run tfm-plan-entries first)");
      return signalPassFailure();
    }
    Block &body = fn.getBody().front();
    for (BlockArgument a : body.getArguments())
      if (isa<RankedTensorType>(a.getType()))
        layouts[a] = rowMajor(a.getType());

    int64_t pos = 0;
    for (Operation &op : body)
      position[&op] = pos++;
    for (Operation &op : llvm::make_early_inc_range(body)) {
      if (isa<func::ReturnOp>(op))
        break;
      // Operands first: a kernel sees only layouts it accepts.
      llvm::DenseMap<Value, Value> copies;
      for (OpOperand &use : op.getOpOperands()) {
        Value v = use.get();
        if (!isa<RankedTensorType>(v.getType()))
          continue;
        LayoutNeed need = layoutNeed(use);
        if (layouts[v].satisfies(need))
          continue;
        Value &c = copies[v];
        if (!c)
          c = copyOf(v, &op);
        use.set(c);
      }
      if (auto cw = dyn_cast<CacheWriteOp>(op);
          cw && !canUpdateInPlace(cw, fn, entry)) {
        Value c = copyOf(cw.getCache(), &op);
        cw.getCacheMutable().assign(c);
      }
      visit(&op);
    }

    // Results: an output needs a buffer of its own; a result tied to state
    // must be that state, updated in place.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    llvm::DenseSet<Value> written;
    for (OpOperand &use : ret->getOpOperands()) {
      Value v = use.get();
      unsigned r = use.getOperandNumber();
      if (auto tied = fn.getResultAttrOfType<IntegerAttr>(r, attr::kTiedTo)) {
        Value state = body.getArgument(tied.getInt());
        bool inPlace = root(v) == state && v != state &&
                       layouts[v].contiguous() &&
                       v.getType() == state.getType();
        if (v == state)
          continue; // returned unchanged: nothing to write
        if (!inPlace)
          use.set(copyOf(v, ret));
        continue;
      }
      Operation *def = v.getDefiningOp();
      bool own = def && !isViewOp(def) &&
                 !isa<WeightOp, PositionalEncodingOp>(def) &&
                 !written.contains(v);
      if (!own)
        use.set(copyOf(v, ret));
      written.insert(use.get());
    }
  }
};
} // namespace
