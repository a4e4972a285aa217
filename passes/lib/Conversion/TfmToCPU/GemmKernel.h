//===- GemmKernel.h - the register-blocked GEMM generator -------*- C++ -*-===//
//
// Part of tfmc. Internal to the TfmToCPU lowering: the GEMM code generator
// of Gemm.cpp (the file comment there describes the blocking), shared with
// the mixture-of-experts kernel (MoE.cpp), which runs it once per expert
// with its own A-row indirection, epilogue and store.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_TFMTOCPU_GEMMKERNEL_H
#define TFM_CONVERSION_TFMTOCPU_GEMMKERNEL_H

#include "KernelBuilder.h"
#include "Lowering.h"

#include <functional>

namespace mlir::tfm::cpu {

/// How an epilogue input broadcasts against the [M, N] result.
struct EpilogueInput {
  enum Kind { Full, PerColumn, PerRow, Scalar } kind;
  Value mem; // [M, N], [N], [M] or [1]
};

struct Gemm {
  Lowering &l;
  KernelBuilder k;
  bool gated;          // panels pair gate and up features
  unsigned mr, nr, nv; // micro-kernel rows, columns, vectors per row
  Value m, n, kdim;    // sizes (index)
  Value k0, k1;        // the K block being accumulated
  Value first, last;   // i1: is it the first / last K block (null: only one)
  std::optional<int64_t> staticM;
  std::optional<int64_t> maxM; // a static bound of a run-time M (or none)
  Value bp;                    // packed B: [NP, K, NR] or [batch, NP, K, NR]
  QuantAttr quant;             // B quantized: bp holds codes (i8 bytes)
  Value bscale;                // and this the scales [NP, ceil(K/G), NR]
  Value c;                     // [M, N] or [batch, M, N]
  Value partial;               // gated with K blocks: [M, panels * NR] raw sums
  Value bias;                  // [N] or null ([2N] when gated)
  LinearOp linear;             // for the epilogue region, or null
  SmallVector<EpilogueInput> inputs;
  /// A[row, kk] of the current batch.
  std::function<Value(ValueRange batch, Value row, Value kk)> loadA;
  /// Optional hooks (the experts of tfm.moe): the row of A that result row
  /// `row` reads (computed once per micro-kernel, outside the K loop); the
  /// epilogue of the accumulators after the bias, instead of the linear's
  /// region; the store of a finished result vector, instead of into C (C
  /// then only holds the partial sums of K blocks).
  std::function<Value(Value row)> aRow;
  std::function<Value(ArrayRef<Value> accs, Value row)> epilogue;
  std::function<void(Value row, Value col, Value v, Value mask)> storeC;

  Gemm(Lowering &l, Type elt, bool gated = false)
      : l(l), k(l.b, l.options.vectorWidth, elt), gated(gated),
        mr(gated ? std::max(1u, (l.options.gemmMR - 1) / 2) : l.options.gemmMR),
        nr((gated ? 2 : 1) * l.options.gemmNR), nv(nr / l.options.vectorWidth) {
  }

  /// Result columns one panel produces.
  unsigned outCols() const { return gated ? nr / 2 : nr; }
  /// Result vectors per row of a micro-kernel.
  unsigned outVecs() const { return gated ? nv / 2 : nv; }

  SmallVector<Value> idx(ValueRange batch, std::initializer_list<Value> rest) {
    SmallVector<Value> out(batch);
    out.append(rest.begin(), rest.end());
    return out;
  }

  /// Accumulates rows(r) for r < rows over the whole K, for panel `p`.
  SmallVector<Value> accumulate(ValueRange batch, Value p, unsigned rows,
                                llvm::function_ref<Value(unsigned)> rowOf) {
    SmallVector<Value> init(rows * nv, k.vcst(0.0));
    if (quant)
      return accumulateQuantized(batch, p, rows, rowOf, init);
    return k.loop(k0, k1, 1, init, [&](Value kk, ValueRange acc) {
      SmallVector<Value> b;
      for (unsigned j = 0; j < nv; ++j)
        b.push_back(k.load(bp, idx(batch, {p, kk, k.idx(j * k.lanes)})));
      return fmaStep(b, rows, rowOf, batch, kk, acc);
    });
  }

  /// acc[r][j] += A[row r, kk] * b[j].
  SmallVector<Value> fmaStep(ArrayRef<Value> b, unsigned rows,
                             llvm::function_ref<Value(unsigned)> rowOf,
                             ValueRange batch, Value kk, ValueRange acc) {
    SmallVector<Value> next(acc);
    for (unsigned r = 0; r < rows; ++r) {
      Value a = k.splat(loadA(batch, rowOf(r), kk));
      for (unsigned j = 0; j < nv; ++j)
        next[r * nv + j] = vector::FMAOp::create(l.b, a, b[j], acc[r * nv + j]);
    }
    return next;
  }

  /// The K loop over quantized panels, one group at a time: the group's
  /// scale vectors are loaded once and the codes converted to f32 in
  /// registers. When twice the accumulators fit the vector registers, a
  /// group's products of A and the codes are summed apart and scaled once
  /// (sum_k a_k q_kj) s_gj; otherwise each B vector is scaled before its
  /// FMAs, a_k (q_kj s_gj).
  SmallVector<Value>
  accumulateQuantized(ValueRange batch, Value p, unsigned rows,
                      llvm::function_ref<Value(unsigned)> rowOf,
                      ValueRange init) {
    int64_t g = quant.getGroup();
    unsigned registers = k.lanes >= 16 ? 32 : 16;
    bool perGroup = 2 * rows * nv + 2 * nv + 2 <= registers;
    Value gsz = k.idx(g);
    Value g0 = k.div(k0, gsz), g1 = k.div(k.add(k1, k.idx(g - 1)), gsz);
    return k.loop(g0, g1, 1, init, [&](Value gi, ValueRange acc) {
      SmallVector<Value> s;
      for (unsigned j = 0; j < nv; ++j)
        s.push_back(k.load(bscale, idx(batch, {p, gi, k.idx(j * k.lanes)})));
      Value start = k.mul(gi, gsz);
      Value lo = k.max(k0, start), hi = k.min(k1, k.add(start, gsz));
      auto codesAt = [&](Value kk, bool scaled) {
        SmallVector<Value> b;
        for (auto [j, q] : llvm::enumerate(loadCodes(batch, p, kk))) {
          Value f = arith::SIToFPOp::create(l.b, k.vecType(), q);
          b.push_back(scaled ? arith::MulFOp::create(l.b, f, s[j]) : f);
        }
        return b;
      };
      if (!perGroup)
        return k.loop(lo, hi, 1, acc, [&](Value kk, ValueRange acc2) {
          return fmaStep(codesAt(kk, true), rows, rowOf, batch, kk, acc2);
        });
      SmallVector<Value> zero(rows * nv, k.vcst(0.0));
      SmallVector<Value> sums =
          k.loop(lo, hi, 1, zero, [&](Value kk, ValueRange part) {
            return fmaStep(codesAt(kk, false), rows, rowOf, batch, kk, part);
          });
      SmallVector<Value> next;
      for (unsigned i = 0; i < rows * nv; ++i)
        next.push_back(vector::FMAOp::create(l.b, sums[i], s[i % nv], acc[i]));
      return next;
    });
  }

  /// The nv code vectors (integers, one lane per column) of row kk of
  /// panel p: 8 bits are bytes; 4 bits are nibbles, byte j holding column
  /// j (low) and j + NR/2 (high), sign-extended by shifts.
  SmallVector<Value> loadCodes(ValueRange batch, Value p, Value kk) {
    Type i8 = l.b.getI8Type(), i32 = l.b.getI32Type();
    SmallVector<Value> out;
    if (quant.getBits() == 8) {
      for (unsigned j = 0; j < nv; ++j)
        out.push_back(
            vector::LoadOp::create(l.b, VectorType::get({k.lanes}, i8), bp,
                                   idx(batch, {p, kk, k.idx(j * k.lanes)})));
      return out;
    }
    int64_t half = nr / 2;
    auto wide = VectorType::get({half}, i32);
    Value bytes = vector::LoadOp::create(l.b, VectorType::get({half}, i8), bp,
                                         idx(batch, {p, kk, k.idx(0)}));
    bytes = arith::ExtSIOp::create(l.b, wide, bytes);
    auto shift = [&](int64_t n) {
      return arith::ConstantOp::create(
          l.b, wide, DenseElementsAttr::get(wide, l.b.getI32IntegerAttr(n)));
    };
    Value low = arith::ShRSIOp::create(
        l.b, arith::ShLIOp::create(l.b, bytes, shift(28)), shift(28));
    Value high = arith::ShRSIOp::create(l.b, bytes, shift(4));
    SmallVector<int64_t> all = llvm::to_vector(llvm::seq<int64_t>(0, nr));
    Value cols = vector::ShuffleOp::create(l.b, low, high, all);
    for (unsigned j = 0; j < nv; ++j)
      out.push_back(vector::ExtractStridedSliceOp::create(
          l.b, cols, ArrayRef<int64_t>{j * k.lanes}, ArrayRef<int64_t>{k.lanes},
          ArrayRef<int64_t>{1}));
    return out;
  }

  /// Stores one result vector from its accumulators (two when gated; `pcol`
  /// is then the gate vector's column in `partial`): with K blocks, adds
  /// the partial sums (after the first block) and finishes only after the
  /// last block.
  void writeBack(ValueRange batch, Value row, Value col, Value pcol,
                 SmallVector<Value, 2> v, Value mask) {
    SmallVector<Value> at = idx(batch, {row, col});
    if (!first) {
      finish(batch, row, col, v, mask);
      return;
    }
    if (gated) {
      // The partial buffer is padded to whole panels: no masks.
      Value pcols[2] = {pcol, k.add(pcol, k.idx(nr / 2))};
      for (unsigned h = 0; h < 2; ++h) {
        Value sum = k.load(partial, {row, pcols[h]});
        v[h] = arith::AddFOp::create(
            l.b, v[h], arith::SelectOp::create(l.b, first, k.vcst(0.0), sum));
      }
      auto ifOp = scf::IfOp::create(l.b, last, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard g(l.b);
      l.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      finish(batch, row, col, v, mask);
      l.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
      for (unsigned h = 0; h < 2; ++h)
        k.store(v[h], partial, {row, pcols[h]});
      return;
    }
    Value v0 = v[0];
    Value sum = k.load(c, at, mask, mask ? k.vcst(0.0) : Value());
    v0 = arith::AddFOp::create(
        l.b, v0, arith::SelectOp::create(l.b, first, k.vcst(0.0), sum));
    auto ifOp = scf::IfOp::create(l.b, last, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(l.b);
    l.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    finish(batch, row, col, {v0}, mask);
    l.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    k.store(v0, c, at, mask);
  }

  /// Applies bias and epilogue to one finished vector (gated: the pair of
  /// gate and up vectors) and stores it.
  void finish(ValueRange batch, Value row, Value col, ArrayRef<Value> accs,
              Value mask) {
    SmallVector<Value, 2> vs(accs);
    if (bias)
      for (unsigned h = 0; h < vs.size(); ++h) {
        Value at = h ? k.add(col, n) : col; // the up half's bias is after N
        vs[h] = arith::AddFOp::create(l.b, vs[h], k.load(bias, {at}, mask));
      }
    Value v = vs[0];
    if (epilogue) {
      v = epilogue(vs, row);
    } else if (linear && linear.hasEpilogue()) {
      Block &body = linear.getEpilogue().front();
      IRMapping map;
      for (auto [arg, acc] : llvm::zip(body.getArguments(), vs))
        map.map(arg, acc);
      for (auto [arg, in] :
           llvm::zip(body.getArguments().drop_front(vs.size()), inputs)) {
        Value x;
        switch (in.kind) {
        case EpilogueInput::Full:
          x = k.load(in.mem, {row, col}, mask);
          break;
        case EpilogueInput::PerColumn:
          x = k.load(in.mem, {col}, mask);
          break;
        case EpilogueInput::PerRow:
          x = k.splat(memref::LoadOp::create(l.b, in.mem, ValueRange{row}));
          break;
        case EpilogueInput::Scalar:
          x = k.splat(
              memref::LoadOp::create(l.b, in.mem, ValueRange{k.idx(0)}));
          break;
        }
        map.map(arg, x);
      }
      for (Operation &op : body.without_terminator())
        map.map(op.getResult(0), vectorize(op, map));
      v = map.lookup(body.getTerminator()->getOperand(0));
    }
    if (storeC)
      storeC(row, col, v, mask);
    else
      k.store(v, c, idx(batch, {row, col}), mask);
  }

  /// Clones a scalar arith/math op onto vectors of `lanes` elements.
  Value vectorize(Operation &op, IRMapping &map) {
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      auto vt = VectorType::get({k.lanes}, cst.getType());
      return arith::ConstantOp::create(
          l.b, vt, DenseElementsAttr::get(vt, cst.getValue()));
    }
    OperationState state(op.getLoc(), op.getName());
    for (Value operand : op.getOperands())
      state.addOperands(map.lookup(operand));
    for (Type t : op.getResultTypes())
      state.addTypes(VectorType::get({k.lanes}, t));
    state.addAttributes(op.getAttrs());
    return l.b.create(state)->getResult(0);
  }

  /// One work item: rows [r0, r0 + rows) of panel p.
  void tile(ValueRange batch, Value p, Value r0, unsigned rows, bool clamp) {
    Value lastRow = k.sub(m, k.idx(1));
    auto rowOf = [&](unsigned r) {
      Value row = k.add(r0, k.idx(r));
      return clamp ? k.min(row, lastRow) : row;
    };
    SmallVector<Value> rowIdx;
    for (unsigned r = 0; r < rows; ++r)
      rowIdx.push_back(rowOf(r));
    SmallVector<Value> aRows(rowIdx);
    if (aRow)
      for (Value &r : aRows)
        r = aRow(r);
    SmallVector<Value> acc =
        accumulate(batch, p, rows, [&](unsigned r) { return aRows[r]; });
    Value n0 = k.mul(p, k.idx(outCols()));
    unsigned ov = outVecs();
    auto storeAll = [&](bool masked) {
      for (unsigned r = 0; r < rows; ++r) {
        auto body = [&] {
          for (unsigned j = 0; j < ov; ++j) {
            Value col = k.add(n0, k.idx(j * k.lanes));
            Value mask;
            if (masked) {
              // Lanes left in this vector (may be <= 0: nothing stored).
              Value left = arith::SubIOp::create(l.b, n, col);
              left = arith::MaxSIOp::create(l.b, left, k.idx(0));
              mask = k.maskFor(left);
            }
            SmallVector<Value, 2> v = {acc[r * nv + j]};
            if (gated)
              v.push_back(acc[r * nv + ov + j]);
            Value pcol = partial
                             ? k.add(k.mul(p, k.idx(nr)), k.idx(j * k.lanes))
                             : Value();
            writeBack(batch, rowIdx[r], col, pcol, v, mask);
          }
        };
        if (clamp && r > 0)
          k.ifThen(k.lt(k.add(r0, k.idx(r)), m), body);
        else
          body();
      }
    };
    // Full panels store whole vectors; the last one may be partial.
    Value full = arith::CmpIOp::create(l.b, arith::CmpIPredicate::ule,
                                       k.add(n0, k.idx(outCols())), n);
    auto ifOp = scf::IfOp::create(l.b, full, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(l.b);
    l.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    storeAll(false);
    l.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    storeAll(true);
  }

  /// The K blocks (sequential) around the parallel loop over the tiles.
  void run(ArrayRef<Value> batchSizes) {
    // Blocking costs a round trip of C per block, which only pays when the
    // A panel would not stay in cache: K up to twice the block is one pass,
    // longer K is split into equal blocks of at most gemm-kc.
    std::optional<int64_t> staticK = getConstantIntValue(kdim);
    int64_t kc = l.options.gemmKC;
    int64_t mBound = staticM ? *staticM : maxM ? *maxM : -1;
    if (staticK && !gemmSplitsK(*staticK, kc, mBound)) {
      k0 = k.idx(0);
      k1 = kdim;
      tiles(batchSizes);
      return;
    }
    if (staticK) {
      int64_t count = (*staticK + kc - 1) / kc;
      kc = (*staticK + count - 1) / count;
    }
    if (quant) // whole groups per block: each loads its scales once
      kc = (kc + quant.getGroup() - 1) / quant.getGroup() * quant.getGroup();
    Value blocks = k.div(k.add(kdim, k.idx(kc - 1)), k.idx(kc));
    k.loop(k.idx(0), blocks, 1, [&](Value kb) {
      k0 = k.mul(kb, k.idx(kc));
      k1 = k.min(k.add(k0, k.idx(kc)), kdim);
      first =
          arith::CmpIOp::create(l.b, arith::CmpIPredicate::eq, kb, k.idx(0));
      last = arith::CmpIOp::create(l.b, arith::CmpIPredicate::eq, kb,
                                   k.sub(blocks, k.idx(1)));
      tiles(batchSizes);
    });
  }

  /// The parallel loop over (batch..., row chunk, panel); each work item
  /// walks the row groups of its chunk.
  void tiles(ArrayRef<Value> batchSizes) {
    // At most gemm-mc rows per chunk, and chunks of equal size (a short last
    // chunk would leave threads idle under static scheduling).
    int64_t maxPerChunk = std::max<int64_t>(1, l.options.gemmMC / mr);
    Value groups = k.div(k.add(m, k.idx(mr - 1)), k.idx(mr));
    Value chunks =
        k.div(k.add(groups, k.idx(maxPerChunk - 1)), k.idx(maxPerChunk));
    Value perChunk = k.div(k.add(groups, k.sub(chunks, k.idx(1))), chunks);
    Value panels = k.div(k.add(n, k.idx(outCols() - 1)), k.idx(outCols()));
    SmallVector<Value> ubs(batchSizes);
    ubs.append({chunks, panels});
    k.parallel(ubs, [&](ValueRange iv) {
      ValueRange batch = iv.drop_back(2);
      Value chunk = iv[iv.size() - 2], p = iv.back();
      Value g0 = k.mul(chunk, perChunk);
      Value g1 = k.min(k.add(g0, perChunk), groups);
      if (!staticM) {
        // Dynamic M: the rows of the last group are clamped.
        k.loop(g0, g1, 1, [&](Value g) {
          tile(batch, p, k.mul(g, k.idx(mr)), mr, /*clamp=*/true);
        });
        return;
      }
      int64_t fullGroups = *staticM / mr, rest = *staticM % mr;
      k.loop(g0, k.min(g1, k.idx(fullGroups)), 1, [&](Value g) {
        tile(batch, p, k.mul(g, k.idx(mr)), mr, /*clamp=*/false);
      });
      if (rest == 0)
        return;
      // One exact micro-kernel for the rows after the full groups, in the
      // chunk that holds them.
      k.ifThen(arith::CmpIOp::create(l.b, arith::CmpIPredicate::eq, g1, groups),
               [&] {
                 tile(batch, p, k.idx(fullGroups * mr), rest, /*clamp=*/false);
               });
    });
  }
};

} // namespace mlir::tfm::cpu

#endif // TFM_CONVERSION_TFMTOCPU_GEMMKERNEL_H
