//===- RowKernels.cpp - softmax and normalisation, one row at a time ------===//
//
// Part of tfmc. Each row (the trailing, normalised dimensions) is processed
// by one work item with vector loops and a masked tail; the row is read from
// memory once and stays in cache for the following passes over it. Rows are
// distributed over threads.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Lowering.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

using vector::CombiningKind;

namespace {
/// Rows of a [R, N] matrix and the helpers the kernels share.
struct RowKernel {
  Lowering &l;
  KernelBuilder k;
  Value n;    // row length
  Value invN; // 1 / N as an element
  RowKernel(Lowering &l, Type elt, Value n)
      : l(l), k(l.b, l.options.vectorWidth, elt), n(n) {
    Value nf = arith::UIToFPOp::create(
        l.b, elt, arith::IndexCastOp::create(l.b, l.b.getI64Type(), n));
    invN = arith::DivFOp::create(l.b, k.cst(1.0), nf);
  }

  /// Sum over the row of f(x) (x loaded with `passthru` in masked lanes).
  Value rowSum(llvm::function_ref<Value(Value off, Value mask)> term) {
    Value zero = k.vcst(0.0);
    SmallVector<Value> acc =
        k.vecLoop(n, {zero}, [&](Value off, Value mask, ValueRange a) {
          Value t = term(off, mask);
          return SmallVector<Value>{arith::AddFOp::create(l.b, a[0], t)};
        });
    return k.reduce(CombiningKind::ADD, acc[0]);
  }

  /// 1 / sqrt(v + eps)
  Value rstd(Value v, double eps) {
    Value s =
        math::SqrtOp::create(l.b, arith::AddFOp::create(l.b, v, k.cst(eps)));
    return arith::DivFOp::create(l.b, k.cst(1.0), s);
  }
};

/// Writes `norm(row)` for one row. `x` holds the input (or the sum of input
/// and residual), `mean`/`rs` the statistics (mean null for RMSNorm).
void normalizeRow(RowKernel &rk, Value x, Value out, Value row, Value mean,
                  Value rs, Value scale, Value bias) {
  KernelBuilder &k = rk.k;
  Value meanV = mean ? k.splat(mean) : Value();
  Value rsV = k.splat(rs);
  k.vecLoop(rk.n, [&](Value off, Value mask) {
    Value v = k.load(x, {row, off}, mask);
    if (meanV)
      v = arith::SubFOp::create(rk.l.b, v, meanV);
    v = arith::MulFOp::create(rk.l.b, v, rsV);
    if (scale)
      v = arith::MulFOp::create(rk.l.b, v, k.load(scale, {off}, mask));
    if (bias)
      v = arith::AddFOp::create(rk.l.b, v, k.load(bias, {off}, mask));
    k.store(v, out, {row, off}, mask);
  });
}

/// scale/bias of the normalised shape, viewed as a vector of N elements.
Value flatParam(Lowering &l, Value param) {
  if (!param)
    return Value();
  Value m = l.contiguous(l.lookup(param));
  auto t = cast<MemRefType>(m.getType());
  if (t.getRank() == 1)
    return m;
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < t.getRank(); ++i)
    all[0].push_back(i);
  return memref::CollapseShapeOp::create(l.b, m, all);
}

LogicalResult lowerSoftmax(SoftmaxOp op, Lowering &l) {
  Value in = l.asMatrix(l.lookup(op.getInput()), op.getAxis());
  Value outFull =
      l.allocFor(op, l.dynamicSizesLike(op.getType(), l.lookup(op.getInput())));
  Value out = l.asMatrix(outFull, op.getAxis());
  RowKernel rk(l, op.getType().getElementType(), l.dim(in, 1));
  KernelBuilder &k = rk.k;
  k.parallel({l.dim(in, 0)}, [&](ValueRange iv) {
    Value row = iv[0];
    double inf = std::numeric_limits<double>::infinity();
    // max over the row
    SmallVector<Value> m = k.vecLoop(
        rk.n, {k.vcst(-inf)}, [&](Value off, Value mask, ValueRange a) {
          Value v = k.load(in, {row, off}, mask, k.vcst(-inf));
          return SmallVector<Value>{arith::MaximumFOp::create(l.b, a[0], v)};
        });
    Value maxS = k.reduce(CombiningKind::MAXIMUMF, m[0]);
    Value maxV = k.splat(maxS);
    // e = exp(x - max), stored; sum(e)
    Value sum = rk.rowSum([&](Value off, Value mask) {
      Value v = k.load(in, {row, off}, mask, maxV);
      Value e = math::ExpOp::create(l.b, arith::SubFOp::create(l.b, v, maxV));
      k.store(e, out, {row, off}, mask);
      if (!mask)
        return e;
      return Value(arith::SelectOp::create(l.b, mask, e, k.vcst(0.0)));
    });
    Value inv = k.splat(arith::DivFOp::create(l.b, k.cst(1.0), sum));
    k.vecLoop(rk.n, [&](Value off, Value mask) {
      Value e = k.load(out, {row, off}, mask);
      k.store(arith::MulFOp::create(l.b, e, inv), out, {row, off}, mask);
    });
  });
  l.bind(op, outFull);
  return success();
}

/// layer_norm / rms_norm and their residual-fused forms.
template <typename OpTy>
LogicalResult lowerNorm(OpTy op, Lowering &l, Value residual, Value bias,
                        bool centred) {
  int64_t axis = op.getAxis();
  Value inFull = l.lookup(op.getInput());
  Value in = l.asMatrix(inFull, axis);
  Value res = residual ? l.asMatrix(l.lookup(residual), axis) : Value();
  Value outFull = l.allocFor(
      op->getResult(0),
      l.dynamicSizesLike(cast<ShapedType>(op->getResult(0).getType()), inFull));
  Value out = l.asMatrix(outFull, axis);
  Value sumFull, sum;
  if (residual) {
    sumFull =
        l.allocFor(op->getResult(1),
                   l.dynamicSizesLike(
                       cast<ShapedType>(op->getResult(0).getType()), inFull));
    sum = l.asMatrix(sumFull, axis);
  }
  Value scale = flatParam(l, op.getScale());
  Value biasV = flatParam(l, bias);
  double eps = op.getEpsilon().convertToDouble();
  RowKernel rk(l, cast<ShapedType>(op->getResult(0).getType()).getElementType(),
               l.dim(in, 1));
  KernelBuilder &k = rk.k;
  auto loadFirst = [&](Value m, Value row) -> Value {
    return memref::LoadOp::create(l.b, m, ValueRange{row, k.idx(0)});
  };
  // mean((x - mean)^2) over one row, a second pass over the cached row.
  auto variance = [&](Value x, Value row, Value meanV) -> Value {
    return arith::MulFOp::create(l.b, rk.rowSum([&](Value off, Value mask) {
      Value d =
          arith::SubFOp::create(l.b, k.load(x, {row, off}, mask, meanV), meanV);
      return Value(arith::MulFOp::create(l.b, d, d));
    }),
                                 rk.invN);
  };
  k.parallel({l.dim(in, 0)}, [&](ValueRange iv) {
    Value row = iv[0];
    Value x = in;
    if (residual) {
      // sum = input + residual, written once; its first statistic on the way.
      x = sum;
      Value shift, shiftV;
      if (centred) {
        shift =
            arith::AddFOp::create(l.b, loadFirst(in, row), loadFirst(res, row));
        shiftV = k.splat(shift);
      }
      Value total = rk.rowSum([&](Value off, Value mask) {
        // Masked lanes: input = shift, residual = 0, so they add nothing.
        Value s =
            arith::AddFOp::create(l.b, k.load(in, {row, off}, mask, shiftV),
                                  k.load(res, {row, off}, mask));
        k.store(s, sum, {row, off}, mask);
        return centred ? Value(arith::SubFOp::create(l.b, s, shiftV))
                       : Value(arith::MulFOp::create(l.b, s, s));
      });
      Value stat = arith::MulFOp::create(l.b, total, rk.invN);
      if (!centred) {
        normalizeRow(rk, x, out, row, Value(), rk.rstd(stat, eps), scale,
                     biasV);
        return;
      }
      stat = arith::AddFOp::create(l.b, shift, stat);
      Value meanV = k.splat(stat);
      normalizeRow(rk, x, out, row, stat, rk.rstd(variance(x, row, meanV), eps),
                   scale, biasV);
      return;
    }
    if (!centred) {
      Value ms =
          arith::MulFOp::create(l.b, rk.rowSum([&](Value off, Value mask) {
            Value v = k.load(x, {row, off}, mask);
            return Value(arith::MulFOp::create(l.b, v, v));
          }),
                                rk.invN);
      normalizeRow(rk, x, out, row, Value(), rk.rstd(ms, eps), scale, biasV);
      return;
    }
    // mean = x0 + mean(x - x0): summing deviations from the row's first
    // element keeps the sum's rounding error at the scale of the spread, not
    // of a large common offset.
    Value shift = loadFirst(x, row);
    Value shiftV = k.splat(shift);
    Value mean = arith::AddFOp::create(
        l.b, shift,
        arith::MulFOp::create(l.b, rk.rowSum([&](Value off, Value mask) {
          return Value(arith::SubFOp::create(
              l.b, k.load(x, {row, off}, mask, shiftV), shiftV));
        }),
                              rk.invN));
    Value meanV = k.splat(mean);
    normalizeRow(rk, x, out, row, mean, rk.rstd(variance(x, row, meanV), eps),
                 scale, biasV);
  });
  l.bind(op->getResult(0), outFull);
  if (residual)
    l.bind(op->getResult(1), sumFull);
  return success();
}

} // namespace

LogicalResult mlir::tfm::cpu::lowerRowKernel(Operation *op, Lowering &l) {
  if (auto s = dyn_cast<SoftmaxOp>(op)) {
    if (static_cast<int64_t>(s.getAxis()) != s.getType().getRank() - 1)
      return op->emitOpError("normalises a leading axis (run "
                             "tfm-legalize-for-kernels first)");
    return lowerSoftmax(s, l);
  }
  if (auto n = dyn_cast<LayerNormOp>(op))
    return lowerNorm(n, l, Value(), n.getBias(), /*centred=*/true);
  if (auto n = dyn_cast<RMSNormOp>(op))
    return lowerNorm(n, l, Value(), Value(), /*centred=*/false);
  if (auto n = dyn_cast<AddLayerNormOp>(op))
    return lowerNorm(n, l, n.getResidual(), n.getBias(), /*centred=*/true);
  if (auto n = dyn_cast<AddRMSNormOp>(op))
    return lowerNorm(n, l, n.getResidual(), Value(), /*centred=*/false);
  return op->emitOpError("is not supported by the CPU backend");
}
