//===- Attention.cpp - flash-style attention with online softmax ----------===//
//
// Part of tfmc. One work item per (batch, head, block of BQ queries):
//
//   Qs = Q[block] * scale                       (local, BQ x D)
//   m = -inf, l = 0, O = 0                      (local, per query)
//   for each block of BK keys up to the last one a query may see:
//     KT = K[keys]^T                            (local, D x BK)
//     S  = Qs KT + mask; S = -inf where causal or past the keys
//     m' = max(m, rowmax S); P = exp(S - m'); a = exp(m - m')
//     l  = l a + rowsum P;   O = O a + P V[keys]
//   out[block] = O / l
//
// Memory is O(BQ * (D + BK)) per work item, never O(Sq * Sk). Scores and the
// output accumulator are register-blocked over a few query rows at a time.
// Keys beyond the causal frontier of the block are never visited.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Lowering.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

using vector::CombiningKind;

namespace {

/// Element access to q/k/v/out in either layout.
struct HeadView {
  Value mem;
  bool explicitHeads; // [B, H, S, D] instead of [B, S, H*D]
  int64_t headDim;
  /// Query heads per stored head (grouped-query attention: K and V).
  int64_t groups = 1;
  SmallVector<Value> indices(KernelBuilder &k, Value b, Value h, Value s,
                             Value d) const {
    if (groups > 1)
      h = k.div(h, k.idx(groups));
    if (explicitHeads)
      return {b, h, s, d};
    return {b, s, k.add(k.mul(h, k.idx(headDim)), d)};
  }
};

struct FlashAttention {
  AttentionOp op;
  Lowering &l;
  KernelBuilder k;
  HeadView q, kk, v, out;
  Value mask; // additive mask, or null
  SmallVector<int64_t> maskShape;
  Value offset; // absolute position of query 0 (causal)
  int64_t d, dv, bq, bk, lanes;
  Value sq, sk; // sequence lengths
  double scale;
  bool causal;
  int64_t window = 0; // sliding window (causal), 0: none
  unsigned regs;

  FlashAttention(AttentionOp op, Lowering &l)
      : op(op), l(l),
        k(l.b, l.options.vectorWidth, op.getType().getElementType()),
        lanes(l.options.vectorWidth) {
    regs = lanes >= 16 ? 32 : 16;
  }

  /// Rows processed together for a computation with `vecs` vectors per row.
  int64_t rowsPerGroup(int64_t vecs) const {
    int64_t r =
        (static_cast<int64_t>(regs) - vecs - 1) / std::max<int64_t>(vecs, 1);
    return std::clamp<int64_t>(r, 1, 4);
  }

  /// Calls body(g0, rows) for the query rows [0, bq) in groups of `rs`: one
  /// loop over the full groups and an unrolled tail, so that the kernel's
  /// code grows with the register block, not with bq (128 rows unrolled
  /// into one basic block took LLVM's instruction selection minutes with
  /// 8-lane AVX2 vectors).
  void forRowGroups(int64_t rs, llvm::function_ref<void(Value, int64_t)> body) {
    int64_t full = bq / rs * rs;
    if (full > 0)
      k.loop(k.idx(0), k.idx(full), rs, [&](Value g) { body(g, rs); });
    if (full < bq)
      body(k.idx(full), bq - full);
  }

  /// The additive mask for query row `qi` and key vector starting at `key`.
  Value maskVector(Value b, Value h, Value qi, Value key, Value vmask) {
    int64_t rank = maskShape.size();
    SmallVector<Value> full = {b, h, qi, key};
    SmallVector<Value> idx;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t fullDim = 4 - rank + i;
      idx.push_back(maskShape[i] == 1 ? k.idx(0) : full[fullDim]);
    }
    if (maskShape.back() == 1)
      return k.splat(memref::LoadOp::create(l.b, mask, idx));
    return k.load(mask, idx, vmask, k.vcst(0.0));
  }

  void build() {
    Value bsz = l.dim(q.mem, 0);
    Value heads = k.idx(op.getNumHeads());
    Value qBlocks = k.div(k.add(sq, k.idx(bq - 1)), k.idx(bq));
    Type elt = k.elt;
    double inf = std::numeric_limits<double>::infinity();
    int64_t kVecs = bk / lanes;               // vectors per score row
    int64_t oVecs = (dv + lanes - 1) / lanes; // vectors per output row
    int64_t rs = rowsPerGroup(kVecs), ro = rowsPerGroup(oVecs);

    k.parallel({bsz, heads, qBlocks}, [&](ValueRange iv) {
      Value b = iv[0], h = iv[1], q0 = k.mul(iv[2], k.idx(bq));
      auto scope = memref::AllocaScopeOp::create(l.b, TypeRange{});
      Block *body = l.b.createBlock(&scope.getBodyRegion());
      OpBuilder::InsertionGuard guard(l.b);
      l.b.setInsertionPointToStart(body);
      memref::AllocaScopeReturnOp::create(l.b);
      l.b.setInsertionPointToStart(body);

      auto stackBuffer = [&](ArrayRef<int64_t> shape) {
        return memref::AllocaOp::create(l.b, MemRefType::get(shape, elt),
                                        l.b.getI64IntegerAttr(64));
      };
      Value qs = stackBuffer({bq, d}), kt = stackBuffer({d, bk}),
            sc = stackBuffer({bq, bk});
      Value acc = stackBuffer({bq, oVecs * lanes});
      Value mRow = stackBuffer({bq}), lRow = stackBuffer({bq}),
            alpha = stackBuffer({bq});
      Value lastRow = k.sub(sq, k.idx(1));
      auto rowOf = [&](Value i) { return k.min(k.add(q0, i), lastRow); };

      // Qs = Q * scale (rows past the end repeat the last row, unstored);
      // m = -inf, l = 0, O = 0.
      Value scaleV = k.splat(k.cst(scale));
      k.loop(k.idx(0), k.idx(bq), 1, [&](Value i) {
        Value row = rowOf(i);
        k.vecLoop(k.idx(d), [&](Value off, Value vm) {
          Value x = k.load(q.mem, q.indices(k, b, h, row, off), vm);
          k.store(arith::MulFOp::create(l.b, x, scaleV), qs, {i, off}, vm);
        });
        memref::StoreOp::create(l.b, k.cst(-inf), mRow, ValueRange{i});
        memref::StoreOp::create(l.b, k.cst(0.0), lRow, ValueRange{i});
        for (int64_t j = 0; j < oVecs; ++j)
          k.store(k.vcst(0.0), acc, {i, k.idx(j * lanes)});
      });

      // Keys this block may see: all, or up to the causal frontier; with a
      // sliding window, none before the first query's window.
      Value kEnd = sk, kBegin = k.idx(0);
      if (causal) {
        Value frontier = k.add(q0, k.idx(bq));
        if (offset)
          frontier = k.add(frontier, offset);
        kEnd = k.min(sk, frontier);
      }
      if (window) {
        Value first = offset ? k.add(q0, offset) : q0;
        kBegin = arith::MaxSIOp::create(
            l.b, k.sub(k.add(first, k.idx(1)), k.idx(window)), k.idx(0));
      }
      k.loop(kBegin, kEnd, bk, [&](Value k0) {
        Value nk = k.min(k.idx(bk), k.sub(kEnd, k0));
        // KT = K[k0 : k0 + nk]^T, zero padded.
        k.loop(k.idx(0), k.idx(bk), 1, [&](Value j) {
          Value inside = k.lt(j, nk);
          Value key = k.min(k.add(k0, j), k.sub(kEnd, k.idx(1)));
          k.loop(k.idx(0), k.idx(d), 1, [&](Value dd) {
            Value x = memref::LoadOp::create(l.b, kk.mem,
                                             kk.indices(k, b, h, key, dd));
            x = arith::SelectOp::create(l.b, inside, x, k.cst(0.0));
            memref::StoreOp::create(l.b, x, kt, ValueRange{dd, j});
          });
        });
        scores(b, h, q0, k0, kEnd, kt, qs, sc, rs, kVecs);
        softmaxStep(sc, mRow, lRow, alpha, kVecs);
        accumulate(b, h, k0, nk, sc, acc, alpha, ro, oVecs);
      });

      // out = O / l for the rows that exist.
      k.loop(k.idx(0), k.idx(bq), 1, [&](Value i) {
        k.ifThen(k.lt(k.add(q0, i), sq), [&] {
          Value inv = k.splat(arith::DivFOp::create(
              l.b, k.cst(1.0),
              memref::LoadOp::create(l.b, lRow, ValueRange{i})));
          Value row = k.add(q0, i);
          k.vecLoop(k.idx(dv), [&](Value off, Value vm) {
            Value o = k.load(acc, {i, off}, vm);
            k.store(arith::MulFOp::create(l.b, o, inv), out.mem,
                    out.indices(k, b, h, row, off), vm);
          });
        });
      });
    });
  }

  /// S[i, :] = Qs[i] KT + mask, -inf where masked out; rows in groups of rs.
  void scores(Value b, Value h, Value q0, Value k0, Value kEnd, Value kt,
              Value qs, Value sc, int64_t rs, int64_t kVecs) {
    double inf = std::numeric_limits<double>::infinity();
    Value iota = vector::StepOp::create(
        l.b, VectorType::get({k.lanes}, l.b.getIndexType()));
    forRowGroups(rs, [&](Value g, int64_t rows) {
      SmallVector<Value> init(rows * kVecs, k.vcst(0.0));
      SmallVector<Value> s =
          k.loop(k.idx(0), k.idx(d), 1, init, [&](Value dd, ValueRange a) {
            SmallVector<Value> ktv;
            for (int64_t j = 0; j < kVecs; ++j)
              ktv.push_back(k.load(kt, {dd, k.idx(j * k.lanes)}));
            SmallVector<Value> next(a);
            for (int64_t r = 0; r < rows; ++r) {
              Value qv = k.splat(memref::LoadOp::create(
                  l.b, qs, ValueRange{k.add(g, k.idx(r)), dd}));
              for (int64_t j = 0; j < kVecs; ++j)
                next[r * kVecs + j] =
                    vector::FMAOp::create(l.b, qv, ktv[j], a[r * kVecs + j]);
            }
            return next;
          });
      for (int64_t r = 0; r < rows; ++r) {
        Value i = k.add(g, k.idx(r));
        Value qRow = k.min(k.add(q0, i), k.sub(sq, k.idx(1)));
        Value qPos = offset ? k.add(k.add(q0, i), offset) : k.add(q0, i);
        for (int64_t j = 0; j < kVecs; ++j) {
          Value key0 = k.add(k0, k.idx(j * k.lanes));
          Value keys = arith::AddIOp::create(
              l.b, vector::BroadcastOp::create(l.b, iota.getType(), key0),
              iota);
          Value valid = arith::CmpIOp::create(
              l.b, arith::CmpIPredicate::ult, keys,
              vector::BroadcastOp::create(l.b, iota.getType(), kEnd));
          if (causal)
            valid = arith::AndIOp::create(
                l.b, valid,
                arith::CmpIOp::create(
                    l.b, arith::CmpIPredicate::ule, keys,
                    vector::BroadcastOp::create(l.b, iota.getType(), qPos)));
          if (window) // keys + W > qPos
            valid = arith::AndIOp::create(
                l.b, valid,
                arith::CmpIOp::create(
                    l.b, arith::CmpIPredicate::ugt,
                    arith::AddIOp::create(
                        l.b, keys,
                        vector::BroadcastOp::create(l.b, iota.getType(),
                                                    k.idx(window))),
                    vector::BroadcastOp::create(l.b, iota.getType(), qPos)));
          Value x = s[r * kVecs + j];
          if (mask) {
            Value left = arith::MaxSIOp::create(l.b, k.sub(sk, key0), k.idx(0));
            x = arith::AddFOp::create(
                l.b, x,
                maskVector(b, h, qRow, k.min(key0, k.sub(sk, k.idx(1))),
                           k.maskFor(left)));
          }
          x = arith::SelectOp::create(l.b, valid, x, k.vcst(-inf));
          k.store(x, sc, {i, k.idx(j * k.lanes)});
        }
      }
    });
  }

  /// Online softmax over one key block: P = exp(S - m'), l and m updated,
  /// alpha = exp(m - m') for rescaling the accumulator.
  void softmaxStep(Value sc, Value mRow, Value lRow, Value alpha,
                   int64_t kVecs) {
    double inf = std::numeric_limits<double>::infinity();
    k.loop(k.idx(0), k.idx(bq), 1, [&](Value i) {
      Value mx = k.vcst(-inf);
      for (int64_t j = 0; j < kVecs; ++j)
        mx = arith::MaximumFOp::create(l.b, mx,
                                       k.load(sc, {i, k.idx(j * k.lanes)}));
      Value mOld = memref::LoadOp::create(l.b, mRow, ValueRange{i});
      Value mNew = arith::MaximumFOp::create(
          l.b, mOld, k.reduce(CombiningKind::MAXIMUMF, mx));
      // A row that has seen no visible key yet keeps m = -inf; subtract 0
      // then so that exp gives 0 rather than NaN.
      Value isInf = arith::CmpFOp::create(l.b, arith::CmpFPredicate::OEQ, mNew,
                                          k.cst(-inf));
      Value mSafe = arith::SelectOp::create(l.b, isInf, k.cst(0.0), mNew);
      Value mSafeV = k.splat(mSafe);
      Value sum = k.vcst(0.0);
      for (int64_t j = 0; j < kVecs; ++j) {
        Value p = math::ExpOp::create(
            l.b, arith::SubFOp::create(l.b, k.load(sc, {i, k.idx(j * k.lanes)}),
                                       mSafeV));
        k.store(p, sc, {i, k.idx(j * k.lanes)});
        sum = arith::AddFOp::create(l.b, sum, p);
      }
      Value a =
          math::ExpOp::create(l.b, arith::SubFOp::create(l.b, mOld, mSafe));
      Value lOld = memref::LoadOp::create(l.b, lRow, ValueRange{i});
      Value lNew =
          arith::AddFOp::create(l.b, arith::MulFOp::create(l.b, lOld, a),
                                k.reduce(CombiningKind::ADD, sum));
      memref::StoreOp::create(l.b, mNew, mRow, ValueRange{i});
      memref::StoreOp::create(l.b, lNew, lRow, ValueRange{i});
      memref::StoreOp::create(l.b, a, alpha, ValueRange{i});
    });
  }

  /// O[i] = O[i] * alpha_i + sum_j P[i, j] V[k0 + j]; rows in groups of ro.
  void accumulate(Value b, Value h, Value k0, Value nk, Value sc, Value acc,
                  Value alpha, int64_t ro, int64_t oVecs) {
    Value lastKey = k.sub(sk, k.idx(1));
    forRowGroups(ro, [&](Value g, int64_t rows) {
      SmallVector<Value> rowIdx;
      for (int64_t r = 0; r < rows; ++r)
        rowIdx.push_back(k.add(g, k.idx(r)));
      SmallVector<Value> init;
      for (int64_t r = 0; r < rows; ++r) {
        Value a =
            k.splat(memref::LoadOp::create(l.b, alpha, ValueRange{rowIdx[r]}));
        for (int64_t j = 0; j < oVecs; ++j)
          init.push_back(arith::MulFOp::create(
              l.b, k.load(acc, {rowIdx[r], k.idx(j * lanes)}), a));
      }
      SmallVector<Value> o =
          k.loop(k.idx(0), nk, 1, init, [&](Value j, ValueRange a) {
            Value key = k.min(k.add(k0, j), lastKey);
            SmallVector<Value> vv;
            for (int64_t c = 0; c < oVecs; ++c) {
              Value off = k.idx(c * lanes);
              Value vm;
              if ((c + 1) * lanes > dv)
                vm = k.maskFor(k.idx(dv - c * lanes));
              vv.push_back(k.load(v.mem, v.indices(k, b, h, key, off), vm));
            }
            SmallVector<Value> next(a);
            for (int64_t r = 0; r < rows; ++r) {
              Value p = k.splat(
                  memref::LoadOp::create(l.b, sc, ValueRange{rowIdx[r], j}));
              for (int64_t c = 0; c < oVecs; ++c)
                next[r * oVecs + c] =
                    vector::FMAOp::create(l.b, p, vv[c], a[r * oVecs + c]);
            }
            return next;
          });
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < oVecs; ++c)
          k.store(o[r * oVecs + c], acc, {rowIdx[r], k.idx(c * lanes)});
    });
  }
};
} // namespace

LogicalResult mlir::tfm::cpu::lowerAttention(AttentionOp op, Lowering &l) {
  FlashAttention fa(op, l);
  bool explicitHeads = op.hasExplicitHeads();
  int64_t heads = op.getNumHeads();
  auto qt = op.getQuery().getType(), vt = op.getValue().getType();
  fa.d = op.getHeadDim();
  int64_t groups = heads / op.getKVHeads();
  fa.dv = explicitHeads ? vt.getDimSize(3) : vt.getDimSize(2) / op.getKVHeads();
  if (ShapedType::isDynamic(fa.d) || ShapedType::isDynamic(fa.dv))
    return op.emitOpError("head sizes must be static");
  auto view = [&](Value v, int64_t hd) {
    return HeadView{l.lookup(v), explicitHeads, hd};
  };
  fa.q = view(op.getQuery(), fa.d);
  fa.kk = view(op.getKey(), fa.d);
  fa.v = view(op.getValue(), fa.dv);
  fa.kk.groups = fa.v.groups = groups;
  Value outMem = l.allocFor(op, l.dynamicSizesLike(op.getType(), fa.q.mem));
  fa.out = HeadView{outMem, explicitHeads, fa.dv};
  int64_t seqDim = explicitHeads ? 2 : 1;
  fa.sq = l.dim(fa.q.mem, seqDim);
  fa.sk = l.dim(fa.kk.mem, seqDim);
  fa.scale = op.getScale().convertToDouble();
  fa.causal = op.getCausal();
  fa.window = op.getWindow().value_or(0);
  fa.offset = l.scalar(op.getOffset());
  if (Value m = op.getMask()) {
    fa.mask = l.contiguous(l.lookup(m));
    auto mt = cast<MemRefType>(fa.mask.getType());
    fa.maskShape.assign(mt.getShape().begin(), mt.getShape().end());
  }
  unsigned lanes = l.options.vectorWidth;
  fa.bk = std::max<int64_t>(l.options.attentionBlockK / lanes, 1) * lanes;
  fa.bq = l.options.attentionBlockQ;
  // Short query blocks: keep the block no larger than the sequence.
  if (!qt.isDynamicDim(seqDim))
    fa.bq = std::min<int64_t>(fa.bq, qt.getDimSize(seqDim));
  fa.build();
  l.bind(op, outMem);
  return success();
}
