//===- ShapeBounds.cpp - upper bounds of run-time sizes -------------------===//
//
// Part of tfmc. One forward walk over an entry function: index values get
// intervals, tensors get the upper bound of each dimension from their
// operands by each op's shape rule. The bounds size every arena range, so
// buffers of sequences chosen at run time have static offsets.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tfm;

namespace {
/// Saturating arithmetic on bounds (sizes here are far below 2^62).
int64_t satAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX / 2 : r;
}
int64_t satMul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX / 2 : r;
}
} // namespace

ShapeBounds::ShapeBounds(func::FuncOp fn, DictionaryAttr dimBounds,
                         int64_t indexBound)
    : indexBound(indexBound) {
  if (fn.isExternal())
    return;
  Block &body = fn.getBody().front();
  for (BlockArgument arg : body.getArguments()) {
    if (arg.getType().isIndex()) {
      indices[arg] = {0, indexBound};
      continue;
    }
    auto t = dyn_cast<RankedTensorType>(arg.getType());
    if (!t)
      continue;
    auto names =
        fn.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), attr::kDimNames);
    SmallVector<int64_t> shape;
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (!t.isDynamicDim(d)) {
        shape.push_back(t.getDimSize(d));
        continue;
      }
      int64_t bound = -1;
      if (names && d < static_cast<int64_t>(names.size()) && dimBounds)
        if (auto b = dimBounds.getAs<IntegerAttr>(
                cast<StringAttr>(names[d]).getValue()))
          bound = b.getInt();
      shape.push_back(bound);
    }
    shapes[arg] = std::move(shape);
  }
}

LogicalResult ShapeBounds::run(func::FuncOp fn) {
  if (fn.isExternal())
    return success();
  // Program order: every operand is bounded before its users.
  for (Operation &op : fn.getBody().front().without_terminator())
    if (failed(visit(&op)))
      return failure();
  return success();
}

FailureOr<ArrayRef<int64_t>> ShapeBounds::shape(Value v) {
  auto it = shapes.find(v);
  if (it == shapes.end())
    return failure();
  for (auto [d, size] : llvm::enumerate(it->second))
    if (size < 0) {
      if (Operation *def = v.getDefiningOp())
        def->emitOpError("has a dynamic dimension ")
            << d << " without an upper bound";
      else
        emitError(v.getLoc()) << "argument dimension " << d
                              << " is dynamic without a named bound";
      return failure();
    }
  return ArrayRef<int64_t>(it->second);
}

FailureOr<int64_t> ShapeBounds::index(Value v) {
  auto it = indices.find(v);
  if (it == indices.end()) {
    if (Operation *def = v.getDefiningOp())
      return def->emitOpError("computes an index the planner cannot bound");
    return failure();
  }
  return it->second.second;
}

FailureOr<int64_t> ShapeBounds::bytes(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return failure();
  FailureOr<ArrayRef<int64_t>> s = shape(v);
  if (failed(s))
    return failure();
  int64_t n = elementBytes(t.getElementType());
  for (int64_t d : *s)
    n = satMul(n, d);
  return n;
}

/// The interval of an index-typed op result.
static std::optional<std::pair<int64_t, int64_t>> indexInterval(
    Operation *op, ShapeBounds &sb,
    llvm::function_ref<std::optional<std::pair<int64_t, int64_t>>(Value)> of) {
  if (auto c = dyn_cast<arith::ConstantIndexOp>(op))
    return std::make_pair(c.value(), c.value());
  if (auto d = dyn_cast<tensor::DimOp>(op)) {
    std::optional<int64_t> axis = d.getConstantIndex();
    FailureOr<ArrayRef<int64_t>> s = sb.shape(d.getSource());
    if (!axis || failed(s))
      return std::nullopt;
    auto t = cast<RankedTensorType>(d.getSource().getType());
    int64_t hi = (*s)[*axis];
    return std::make_pair(t.isDynamicDim(*axis) ? int64_t(0) : hi, hi);
  }
  if (op->getNumOperands() != 2 || !op->getResult(0).getType().isIndex())
    return std::nullopt;
  auto a = of(op->getOperand(0)), b = of(op->getOperand(1));
  if (!a || !b)
    return std::nullopt;
  auto [al, ah] = *a;
  auto [bl, bh] = *b;
  auto cdiv = [](int64_t x, int64_t y) { return y > 0 ? (x + y - 1) / y : x; };
  return llvm::TypeSwitch<Operation *,
                          std::optional<std::pair<int64_t, int64_t>>>(op)
      .Case<arith::AddIOp>(
          [&](auto) { return std::make_pair(satAdd(al, bl), satAdd(ah, bh)); })
      .Case<arith::SubIOp>(
          [&](auto) { return std::make_pair(al - bh, ah - bl); })
      .Case<arith::MulIOp>(
          [&](auto) { return std::make_pair(satMul(al, bl), satMul(ah, bh)); })
      .Case<arith::DivSIOp, arith::DivUIOp>([&](auto) {
        return std::make_pair(al / std::max<int64_t>(bh, 1),
                              ah / std::max<int64_t>(bl, 1));
      })
      .Case<arith::CeilDivSIOp, arith::CeilDivUIOp>([&](auto) {
        return std::make_pair(cdiv(al, std::max<int64_t>(bh, 1)),
                              cdiv(ah, std::max<int64_t>(bl, 1)));
      })
      .Case<arith::MinSIOp, arith::MinUIOp>([&](auto) {
        return std::make_pair(std::min(al, bl), std::min(ah, bh));
      })
      .Case<arith::MaxSIOp, arith::MaxUIOp>([&](auto) {
        return std::make_pair(std::max(al, bl), std::max(ah, bh));
      })
      .Default([](Operation *) { return std::nullopt; });
}

LogicalResult ShapeBounds::visit(Operation *op) {
  auto of = [&](Value v) -> std::optional<std::pair<int64_t, int64_t>> {
    if (failed(index(v)))
      return std::nullopt;
    return indices[v];
  };
  if (op->getNumResults() == 1 && op->getResult(0).getType().isIndex()) {
    auto r = indexInterval(op, *this, of);
    if (!r)
      return failure();
    indices[op->getResult(0)] = *r;
    return success();
  }
  // Operand shapes (upper bounds).
  SmallVector<SmallVector<int64_t>> in;
  for (Value v : op->getOperands()) {
    if (!isa<RankedTensorType>(v.getType())) {
      in.emplace_back();
      continue;
    }
    FailureOr<ArrayRef<int64_t>> s = shape(v);
    if (failed(s))
      return failure();
    in.emplace_back(s->begin(), s->end());
  }
  auto hiOf = [&](Value v) -> int64_t {
    auto r = of(v);
    return r ? r->second : -1;
  };
  // Each result's bound: the static size, or the rule's value for the
  // dynamic dims. `rule(r, d)` gives the bound of dim d of result r.
  auto assign = [&](llvm::function_ref<int64_t(unsigned, int64_t)> rule) {
    for (OpResult r : op->getResults()) {
      auto t = dyn_cast<RankedTensorType>(r.getType());
      if (!t)
        continue;
      SmallVector<int64_t> s;
      for (int64_t d = 0; d < t.getRank(); ++d)
        s.push_back(t.isDynamicDim(d) ? rule(r.getResultNumber(), d)
                                      : t.getDimSize(d));
      shapes[r] = std::move(s);
    }
    return success();
  };
  auto rank = [&](unsigned i) { return static_cast<int64_t>(in[i].size()); };
  /// Right-aligned broadcast: the largest operand size at that position.
  auto broadcast = [&](unsigned, int64_t d) {
    int64_t outRank =
        cast<RankedTensorType>(op->getResult(0).getType()).getRank();
    int64_t best = -1;
    for (unsigned i = 0; i < in.size(); ++i) {
      int64_t k = d - (outRank - rank(i));
      if (k >= 0 && k < rank(i))
        best = std::max(best, in[i][k]);
    }
    return best;
  };
  /// The operand's dim at the same position (shape-preserving ops).
  auto same = [&](unsigned i) {
    return [&, i](unsigned, int64_t d) {
      return d < rank(i) ? in[i][d] : int64_t(-1);
    };
  };
  /// Sizes given as index operands, in order of the dynamic dims.
  auto fromSizes = [&](ValueRange sizes) {
    return [&, sizes](unsigned, int64_t d) -> int64_t {
      auto t = cast<RankedTensorType>(op->getResult(0).getType());
      unsigned k = 0;
      for (int64_t i = 0; i < d; ++i)
        k += t.isDynamicDim(i);
      return k < sizes.size() ? hiOf(sizes[k]) : -1;
    };
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<LinearOp>([&](LinearOp) {
        return assign([&](unsigned, int64_t d) { return in[0][d]; });
      })
      .Case<MatmulOp>([&](MatmulOp m) {
        int64_t r = m.getType().getRank();
        return assign([&](unsigned, int64_t d) -> int64_t {
          if (d == r - 2)
            return in[0][rank(0) - (m.getTransposeLhs() ? 1 : 2)];
          if (d == r - 1)
            return in[1][rank(1) - (m.getTransposeRhs() ? 2 : 1)];
          return broadcast(0, d);
        });
      })
      .Case<AttentionOp>([&](AttentionOp a) {
        return assign([&](unsigned, int64_t d) { return in[0][d]; });
      })
      .Case<ReshapeOp>([&](ReshapeOp r) {
        auto t = r.getType();
        int64_t numel = 1, staticProduct = 1;
        for (int64_t d : in[0])
          numel = satMul(numel, d);
        for (int64_t d : t.getShape())
          if (!ShapedType::isDynamic(d))
            staticProduct *= d;
        // One dynamic dim: the element count over the static ones; several:
        // matched in order with the input's dynamic dims.
        SmallVector<int64_t> inDyn;
        auto it = cast<RankedTensorType>(r.getInput().getType());
        for (int64_t d = 0; d < it.getRank(); ++d)
          if (it.isDynamicDim(d))
            inDyn.push_back(in[0][d]);
        return assign([&](unsigned, int64_t d) -> int64_t {
          if (t.getNumDynamicDims() == 1)
            return numel / std::max<int64_t>(staticProduct, 1);
          unsigned k = 0;
          for (int64_t i = 0; i < d; ++i)
            k += t.isDynamicDim(i);
          return k < inDyn.size() ? inDyn[k] : -1;
        });
      })
      .Case<TransposeOp>([&](TransposeOp t) {
        ArrayRef<int64_t> perm = t.getPermutation();
        return assign([&](unsigned, int64_t d) { return in[0][perm[d]]; });
      })
      .Case<ConcatOp>([&](ConcatOp c) {
        int64_t axis = c.getAxis();
        return assign([&](unsigned, int64_t d) -> int64_t {
          if (d != axis)
            return in[0][d];
          int64_t total = 0;
          for (auto &s : in)
            total = satAdd(total, s[d]);
          return total;
        });
      })
      .Case<EmbeddingOp>([&](EmbeddingOp) {
        return assign([&](unsigned, int64_t d) -> int64_t {
          return d < rank(1) ? in[1][d] : in[0][1];
        });
      })
      .Case<GatherOp>([&](GatherOp g) {
        int64_t axis = g.getAxis(), ir = rank(1);
        return assign([&](unsigned, int64_t d) -> int64_t {
          if (d < axis)
            return in[0][d];
          if (d < axis + ir)
            return in[1][d - axis];
          return in[0][d - ir + 1];
        });
      })
      .Case<PaddingMaskOp>([&](PaddingMaskOp) {
        return assign([&](unsigned, int64_t d) -> int64_t {
          return d == 0 ? in[0][0] : d == 3 ? in[0][1] : 1;
        });
      })
      .Case<PositionalEncodingOp>([&](PositionalEncodingOp p) {
        return assign(fromSizes(p.getDynamicSizes()));
      })
      .Case<CausalMaskOp>([&](CausalMaskOp c) {
        return assign(fromSizes(c.getDynamicSizes()));
      })
      .Case<RelativePositionBiasOp>([&](RelativePositionBiasOp r) {
        return assign(fromSizes(r.getDynamicSizes()));
      })
      .Case<RangeOp>(
          [&](RangeOp r) { return assign(fromSizes(r.getDynamicSizes())); })
      .Case<ReduceMaxOp, ReduceSumOp, ReduceMeanOp>([&](Operation *o) {
        auto axes = o->getAttrOfType<DenseI64ArrayAttr>("axes").asArrayRef();
        bool keep = o->hasAttr("keep_dims");
        SmallVector<int64_t> kept;
        for (int64_t d = 0; d < rank(0); ++d) {
          if (!llvm::is_contained(axes, d))
            kept.push_back(in[0][d]);
          else if (keep)
            kept.push_back(1);
        }
        return assign([&](unsigned, int64_t d) -> int64_t {
          return d < static_cast<int64_t>(kept.size()) ? kept[d] : -1;
        });
      })
      .Case<SliceOp, CacheWriteOp, CopyOp, ConvertOp, SoftmaxOp, LayerNormOp,
            RMSNormOp, AddLayerNormOp, AddRMSNormOp, RotaryOp, MoEGateOp,
            MoEOp>(
          [&](Operation *) { return assign(same(0)); })
      .Default([&](Operation *o) -> LogicalResult {
        if (o->getNumResults() == 0)
          return success();
        // Elementwise ops broadcast their operands; anything else with a
        // dynamic result is outside the rules above.
        if (isa<ScalarComputeOpInterface>(o))
          return assign(broadcast);
        for (Type t : o->getResultTypes())
          if (auto rt = dyn_cast<RankedTensorType>(t);
              rt && !rt.hasStaticShape())
            return o->emitOpError("has a dynamic result the planner cannot "
                                  "bound");
        return assign([](unsigned, int64_t) { return int64_t(-1); });
      });
}
