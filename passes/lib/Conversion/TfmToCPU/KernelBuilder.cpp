//===- KernelBuilder.cpp - loop and vector helpers for CPU kernels --------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tfm::cpu;

Value KernelBuilder::vcst(double v) {
  return arith::ConstantOp::create(
      b, vecType(), DenseElementsAttr::get(vecType(), b.getFloatAttr(elt, v)));
}

std::optional<int64_t> KernelBuilder::constant(Value v) {
  APInt value;
  if (matchPattern(v, m_ConstantInt(&value)))
    return value.getSExtValue();
  return std::nullopt;
}

void KernelBuilder::loop(Value lb, Value ub, int64_t step, Body body) {
  auto forOp = scf::ForOp::create(b, lb, ub, idx(step));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forOp.getBody()->getTerminator());
  body(forOp.getInductionVar());
}

SmallVector<Value> KernelBuilder::loop(Value lb, Value ub, int64_t step,
                                       ValueRange init, AccBody body) {
  auto forOp = scf::ForOp::create(b, lb, ub, idx(step), init);
  {
    OpBuilder::InsertionGuard guard(b);
    // Without loop-carried values the builder adds an empty yield.
    if (forOp.getBody()->mightHaveTerminator())
      forOp.getBody()->getTerminator()->erase();
    b.setInsertionPointToEnd(forOp.getBody());
    SmallVector<Value> next =
        body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    scf::YieldOp::create(b, next);
  }
  return forOp.getResults();
}

void KernelBuilder::parallel(ValueRange ubs,
                             llvm::function_ref<void(ValueRange)> body) {
  SmallVector<Value> lbs(ubs.size(), idx(0)), steps(ubs.size(), idx(1));
  auto par = scf::ParallelOp::create(b, lbs, ubs, steps);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(par.getBody()->getTerminator());
  body(par.getInductionVars());
}

void KernelBuilder::ifThen(Value cond, llvm::function_ref<void()> then) {
  auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  then();
}

Value KernelBuilder::maskFor(Value n) {
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  return vector::CreateMaskOp::create(b, maskType, ValueRange{n});
}

void KernelBuilder::vecLoop(Value n, VecBody body) {
  (void)vecLoop(n, ValueRange{}, [&](Value off, Value mask, ValueRange) {
    body(off, mask);
    return SmallVector<Value>();
  });
}

SmallVector<Value> KernelBuilder::vecLoop(Value n, ValueRange init,
                                          VecAccBody body) {
  Value l = idx(lanes);
  std::optional<int64_t> cn = constant(n);
  Value full = cn ? idx(*cn - *cn % lanes) : mul(div(n, l), l);
  SmallVector<Value> acc =
      loop(idx(0), full, lanes, init,
           [&](Value off, ValueRange a) { return body(off, Value(), a); });
  if (cn) {
    if (*cn % lanes == 0)
      return acc;
    return body(full, maskFor(idx(*cn % lanes)), acc);
  }
  // Dynamic size: a tail guarded at run time.
  Value remaining = sub(n, full);
  Value hasTail =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, remaining, idx(0));
  auto ifOp = scf::IfOp::create(b, ValueRange(acc).getTypes(), hasTail,
                                /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    if (ifOp.thenBlock()->mightHaveTerminator())
      ifOp.thenBlock()->getTerminator()->erase();
    b.setInsertionPointToEnd(ifOp.thenBlock());
    SmallVector<Value> r = body(full, maskFor(remaining), acc);
    scf::YieldOp::create(b, r);
    if (ifOp.elseBlock()->mightHaveTerminator())
      ifOp.elseBlock()->getTerminator()->erase();
    b.setInsertionPointToEnd(ifOp.elseBlock());
    scf::YieldOp::create(b, acc);
  }
  return ifOp.getResults();
}

Value KernelBuilder::load(Value mem, ValueRange indices, Value mask,
                          Value passthru) {
  // Storage narrower than the compute type (bf16/f16 weights) is loaded as
  // it is stored and widened in registers.
  Type storage = cast<MemRefType>(mem.getType()).getElementType();
  auto storedVec = VectorType::get({lanes}, storage);
  Value v;
  if (!mask) {
    v = vector::LoadOp::create(b, storedVec, mem, indices);
  } else {
    if (!passthru)
      passthru = vcst(0.0);
    if (storage != elt)
      passthru = arith::TruncFOp::create(b, storedVec, passthru);
    v = vector::MaskedLoadOp::create(b, storedVec, mem, indices, mask,
                                     passthru);
  }
  if (storage != elt)
    v = arith::ExtFOp::create(b, vecType(), v);
  return v;
}

Value KernelBuilder::loadScalar(Value mem, ValueRange indices) {
  Value v = memref::LoadOp::create(b, mem, indices);
  if (v.getType() != elt)
    v = arith::ExtFOp::create(b, elt, v);
  return v;
}

void KernelBuilder::store(Value v, Value mem, ValueRange indices, Value mask) {
  Type storage = cast<MemRefType>(mem.getType()).getElementType();
  if (storage != elt)
    v = arith::TruncFOp::create(b, VectorType::get({lanes}, storage), v);
  if (!mask) {
    vector::StoreOp::create(b, v, mem, indices);
    return;
  }
  vector::MaskedStoreOp::create(b, mem, indices, mask, v);
}

Value KernelBuilder::reduce(vector::CombiningKind kind, Value v) {
  return vector::ReductionOp::create(b, kind, v);
}
