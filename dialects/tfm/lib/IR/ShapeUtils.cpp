//===- ShapeUtils.cpp - shape rules shared by tfm ops ---------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/ShapeUtils.h"

#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::tfm;

static bool isDyn(int64_t d) { return ShapedType::isDynamic(d); }

std::string mlir::tfm::formatShape(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::interleave(
      shape, os, [&](int64_t d) { isDyn(d) ? os << "?" : os << d; }, "x");
  return out;
}

bool mlir::tfm::dimsCompatible(int64_t a, int64_t b) {
  return isDyn(a) || isDyn(b) || a == b;
}

std::optional<int64_t> mlir::tfm::staticNumElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (isDyn(d))
      return std::nullopt;
    n *= d;
  }
  return n;
}

LogicalResult mlir::tfm::verifyReshapeShapes(ArrayRef<int64_t> in,
                                             ArrayRef<int64_t> out,
                                             EmitErrorFn emitError) {
  auto fail = [&](const llvm::Twine &msg) {
    if (emitError)
      emitError(msg);
    return failure();
  };
  std::optional<int64_t> a = staticNumElements(in);
  std::optional<int64_t> b = staticNumElements(out);
  if (a && b) {
    if (*a == *b)
      return success();
    return fail("cannot reshape " + formatShape(in) + " (" + llvm::Twine(*a) +
                " elements) to " + formatShape(out) + " (" + llvm::Twine(*b) +
                " elements)");
  }
  // Static products before, between and after the dynamic dimensions.
  auto segments = [](ArrayRef<int64_t> s) {
    SmallVector<int64_t> seg(1, 1);
    for (int64_t d : s) {
      if (isDyn(d))
        seg.push_back(1);
      else
        seg.back() *= d;
    }
    return seg;
  };
  SmallVector<int64_t> si = segments(in), so = segments(out);
  if (si.size() == 2 && so.size() == 2) {
    // One dynamic dimension each: its size follows from the element count.
    if (si[0] * si[1] == so[0] * so[1])
      return success();
    return fail("static parts of " + formatShape(in) + " and " +
                formatShape(out) + " differ");
  }
  if (si == so)
    return success();
  return fail("a dynamic reshape needs exactly one dynamic dimension on each "
              "side, or the same number on both sides with equal static "
              "products between them (" +
              formatShape(in) + " -> " + formatShape(out) + ")");
}

FailureOr<SmallVector<int64_t>>
mlir::tfm::broadcastShapes(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                           EmitErrorFn emitError) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t b = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (a == 1) {
      out[i] = b;
    } else if (b == 1) {
      out[i] = a;
    } else if (isDyn(a)) {
      out[i] = b;
    } else if (isDyn(b) || a == b) {
      out[i] = a;
    } else {
      emitError("shapes " + formatShape(lhs) + " and " + formatShape(rhs) +
                " do not broadcast (dimension " + Twine(i) + ": " + Twine(a) +
                " vs " + Twine(b) + ")");
      return failure();
    }
  }
  return out;
}

bool mlir::tfm::isBroadcastableTo(ArrayRef<int64_t> from,
                                  ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && !dimsCompatible(from[i], to[lead + i]))
      return false;
  return true;
}

LogicalResult mlir::tfm::verifyAxis(int64_t axis, int64_t rank, StringRef what,
                                    EmitErrorFn emitError) {
  if (axis < 0 || axis >= rank) {
    emitError(what + " " + Twine(axis) + " is out of range for rank " +
              Twine(rank));
    return failure();
  }
  return success();
}

LogicalResult mlir::tfm::verifyPermutation(ArrayRef<int64_t> perm, int64_t rank,
                                           EmitErrorFn emitError) {
  if (static_cast<int64_t>(perm.size()) != rank) {
    emitError("permutation has " + Twine(perm.size()) +
              " entries but the input has rank " + Twine(rank));
    return failure();
  }
  llvm::SmallBitVector seen(rank);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen.test(p)) {
      emitError(
          "permutation [" +
          llvm::join(llvm::map_range(
                         perm, [](int64_t v) { return std::to_string(v); }),
                     ", ") +
          "] is not a permutation of [0, " + Twine(rank) + ")");
      return failure();
    }
    seen.set(p);
  }
  return success();
}

FailureOr<SmallVector<int64_t>>
mlir::tfm::inferMatmulShape(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs,
                            bool transLhs, bool transRhs,
                            EmitErrorFn emitError) {
  if (lhs.size() < 2 || rhs.size() < 2) {
    emitError("matmul operands must have rank >= 2, got " + formatShape(lhs) +
              " and " + formatShape(rhs));
    return failure();
  }
  int64_t m = lhs[lhs.size() - (transLhs ? 1 : 2)];
  int64_t kl = lhs[lhs.size() - (transLhs ? 2 : 1)];
  int64_t kr = rhs[rhs.size() - (transRhs ? 1 : 2)];
  int64_t n = rhs[rhs.size() - (transRhs ? 2 : 1)];
  if (!dimsCompatible(kl, kr)) {
    emitError("contraction sizes differ: " + formatShape(lhs) +
              (transLhs ? " (transposed)" : "") + " times " + formatShape(rhs) +
              (transRhs ? " (transposed)" : "") + " (" + Twine(kl) + " vs " +
              Twine(kr) + ")");
    return failure();
  }
  FailureOr<SmallVector<int64_t>> batch = broadcastShapes(
      lhs.drop_back(2), rhs.drop_back(2),
      [&](const Twine &msg) { emitError("batch dimensions: " + msg); });
  if (failed(batch))
    return failure();
  batch->push_back(m);
  batch->push_back(n);
  return batch;
}

FailureOr<SmallVector<int64_t>>
mlir::tfm::inferLinearShape(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                            bool weightKN, EmitErrorFn emitError) {
  if (input.empty()) {
    emitError("linear input must have rank >= 1");
    return failure();
  }
  if (weight.size() != 2) {
    emitError("linear weight must have rank 2, got " + formatShape(weight));
    return failure();
  }
  int64_t k = weightKN ? weight[0] : weight[1];
  int64_t n = weightKN ? weight[1] : weight[0];
  if (!dimsCompatible(input.back(), k)) {
    emitError("input features " + Twine(input.back()) +
              " do not match the weight " + formatShape(weight) +
              (weightKN ? " ([in, out])" : " ([out, in])"));
    return failure();
  }
  SmallVector<int64_t> out(input.drop_back());
  out.push_back(n);
  return out;
}

FailureOr<SmallVector<int64_t>>
mlir::tfm::inferReduceShape(ArrayRef<int64_t> input, ArrayRef<int64_t> axes,
                            bool keepDims, EmitErrorFn emitError) {
  int64_t rank = input.size();
  if (axes.empty()) {
    emitError("reduction needs at least one axis");
    return failure();
  }
  llvm::SmallBitVector reduced(rank);
  for (int64_t a : axes) {
    if (failed(verifyAxis(a, rank, "reduction axis", emitError)))
      return failure();
    if (reduced.test(a)) {
      emitError("reduction axis " + Twine(a) + " is repeated");
      return failure();
    }
    reduced.set(a);
  }
  SmallVector<int64_t> out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced.test(i))
      out.push_back(input[i]);
    else if (keepDims)
      out.push_back(1);
  }
  return out;
}

LogicalResult mlir::tfm::verifyNormParam(ArrayRef<int64_t> input, int64_t axis,
                                         ArrayRef<int64_t> param,
                                         StringRef what,
                                         EmitErrorFn emitError) {
  ArrayRef<int64_t> normalized = input.drop_front(axis);
  bool ok = param.size() == normalized.size();
  for (size_t i = 0; ok && i < param.size(); ++i)
    ok = dimsCompatible(param[i], normalized[i]);
  if (!ok) {
    emitError(what + " has shape " + formatShape(param) +
              " but the normalised shape is " + formatShape(normalized));
    return failure();
  }
  return success();
}

FailureOr<AttentionDims>
mlir::tfm::inferAttentionDims(ArrayRef<int64_t> q, ArrayRef<int64_t> k,
                              ArrayRef<int64_t> v, int64_t numHeads,
                              EmitErrorFn emitError, int64_t kvHeads) {
  if (q.size() != k.size() || q.size() != v.size() ||
      (q.size() != 3 && q.size() != 4)) {
    emitError("query, key and value must all have rank 3 ([B, S, H*D]) or "
              "all rank 4 ([B, H, S, D]), got " +
              formatShape(q) + ", " + formatShape(k) + ", " + formatShape(v));
    return failure();
  }
  if (numHeads < 1) {
    emitError("number of heads must be positive, got " + Twine(numHeads));
    return failure();
  }
  if (kvHeads == 0)
    kvHeads = numHeads;
  if (kvHeads < 1 || numHeads % kvHeads != 0) {
    emitError("heads = " + Twine(numHeads) +
              " is not a multiple of kv_heads = " + Twine(kvHeads));
    return failure();
  }
  AttentionDims d;
  d.explicitHeads = q.size() == 4;
  d.kvHeads = kvHeads;
  if (!dimsCompatible(q[0], k[0]) || !dimsCompatible(q[0], v[0])) {
    emitError("batch sizes of query, key and value differ: " + formatShape(q) +
              ", " + formatShape(k) + ", " + formatShape(v));
    return failure();
  }
  d.batch = q[0];
  if (d.explicitHeads) {
    if (!dimsCompatible(q[1], numHeads) || !dimsCompatible(k[1], kvHeads) ||
        !dimsCompatible(v[1], kvHeads)) {
      emitError("heads = " + Twine(numHeads) +
                (kvHeads != numHeads ? " (kv_heads = " + Twine(kvHeads) + ")"
                                     : Twine("")) +
                " does not match the head dimension of " + formatShape(q) +
                ", " + formatShape(k) + ", " + formatShape(v));
      return failure();
    }
    d.heads = numHeads;
    d.querySeq = q[2];
    d.keySeq = k[2];
    d.headDim = q[3];
    d.valueHeadDim = v[3];
    if (!dimsCompatible(k[3], q[3])) {
      emitError("query and key head sizes differ (" + Twine(q[3]) + " vs " +
                Twine(k[3]) + ")");
      return failure();
    }
    if (!dimsCompatible(v[2], k[2])) {
      emitError("key and value sequence lengths differ (" + Twine(k[2]) +
                " vs " + Twine(v[2]) + ")");
      return failure();
    }
    return d;
  }
  d.heads = numHeads;
  d.querySeq = q[1];
  d.keySeq = k[1];
  // Key features: kv_heads heads of the query's head size.
  int64_t keyFeatures =
      ShapedType::isDynamic(q[2]) ? q[2] : q[2] / numHeads * kvHeads;
  if (kvHeads == numHeads && !dimsCompatible(k[2], q[2])) {
    emitError("query and key feature sizes differ (" + Twine(q[2]) + " vs " +
              Twine(k[2]) + ")");
    return failure();
  }
  if (kvHeads != numHeads && !ShapedType::isDynamic(q[2]) &&
      q[2] % numHeads == 0 && !dimsCompatible(k[2], keyFeatures)) {
    emitError("key features " + Twine(k[2]) +
              " are not kv_heads = " + Twine(kvHeads) +
              " heads of the query's " + Twine(q[2] / numHeads));
    return failure();
  }
  if (!dimsCompatible(v[1], k[1])) {
    emitError("key and value sequence lengths differ (" + Twine(k[1]) + " vs " +
              Twine(v[1]) + ")");
    return failure();
  }
  for (auto [name, size, n] :
       {std::tuple<StringRef, int64_t, int64_t>{"query/key", q[2], numHeads},
        std::tuple<StringRef, int64_t, int64_t>{"value", v[2], kvHeads}}) {
    if (!ShapedType::isDynamic(size) && size % n != 0) {
      emitError(name + " features " + Twine(size) + " are not divisible by " +
                (n == numHeads ? "heads = " : "kv_heads = ") + Twine(n));
      return failure();
    }
  }
  d.headDim = ShapedType::isDynamic(q[2]) ? q[2] : q[2] / numHeads;
  d.valueHeadDim = ShapedType::isDynamic(v[2]) ? v[2] : v[2] / kvHeads;
  return d;
}

SmallVector<int64_t> mlir::tfm::attentionResultShape(const AttentionDims &d) {
  if (d.explicitHeads)
    return {d.batch, d.heads, d.querySeq, d.valueHeadDim};
  int64_t features = ShapedType::isDynamic(d.valueHeadDim)
                         ? ShapedType::kDynamic
                         : d.valueHeadDim * d.heads;
  return {d.batch, d.querySeq, features};
}
