//===- KernelBuilder.h - loop and vector helpers for CPU kernels -*- C++
//-*-===//
//
// Part of tfmc. Internal to the TfmToCPU lowering: small builders that keep
// the kernel generators readable (loops with accumulators, vector loops with
// a masked tail, masked loads and stores, horizontal reductions).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_TFMTOCPU_KERNELBUILDER_H
#define TFM_CONVERSION_TFMTOCPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::tfm::cpu {

class KernelBuilder {
public:
  using Body = llvm::function_ref<void(Value)>;
  using AccBody =
      llvm::function_ref<SmallVector<Value>(Value iv, ValueRange acc)>;
  /// Body of a vector loop: element offset and the mask of valid lanes (null
  /// for full vectors).
  using VecBody = llvm::function_ref<void(Value off, Value mask)>;
  using VecAccBody = llvm::function_ref<SmallVector<Value>(
      Value off, Value mask, ValueRange acc)>;

  /// `elt` is the compute (and accumulator) type; memory may store a
  /// narrower float type, which loads widen and stores round to.
  KernelBuilder(ImplicitLocOpBuilder &b, unsigned lanes, Type elt)
      : b(b), lanes(lanes), elt(elt) {}

  ImplicitLocOpBuilder &b;
  const unsigned lanes;
  const Type elt; ///< compute and accumulator type

  VectorType vecType() const { return VectorType::get({lanes}, elt); }
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value cst(double v) {
    return arith::ConstantOp::create(b, elt, b.getFloatAttr(elt, v));
  }
  Value vcst(double v);
  Value splat(Value scalar) {
    return vector::BroadcastOp::create(b, vecType(), scalar);
  }

  // Index arithmetic.
  Value add(Value a, Value c) { return arith::AddIOp::create(b, a, c); }
  Value sub(Value a, Value c) { return arith::SubIOp::create(b, a, c); }
  Value mul(Value a, Value c) { return arith::MulIOp::create(b, a, c); }
  Value div(Value a, Value c) { return arith::DivUIOp::create(b, a, c); }
  Value rem(Value a, Value c) { return arith::RemUIOp::create(b, a, c); }
  Value min(Value a, Value c) { return arith::MinUIOp::create(b, a, c); }
  Value max(Value a, Value c) { return arith::MaxUIOp::create(b, a, c); }
  Value lt(Value a, Value c) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, a, c);
  }

  /// for (iv = lb; iv < ub; iv += step)
  void loop(Value lb, Value ub, int64_t step, Body body);
  /// The same with loop-carried values; returns their final values.
  SmallVector<Value> loop(Value lb, Value ub, int64_t step, ValueRange init,
                          AccBody body);
  /// A parallel loop nest over [0, ub_i) (becomes one OpenMP work-sharing
  /// loop); the body receives the induction variables.
  void parallel(ValueRange ubs, llvm::function_ref<void(ValueRange)> body);
  /// if (cond) { then }
  void ifThen(Value cond, llvm::function_ref<void()> then);

  /// Visits [0, n) in steps of `lanes`: full vectors first, then one masked
  /// tail when n is not a multiple (decided at compile time when n is).
  void vecLoop(Value n, VecBody body);
  SmallVector<Value> vecLoop(Value n, ValueRange init, VecAccBody body);

  /// vector.load, or vector.maskedload with `passthru` when masked, of
  /// `mem`'s element type, widened to `elt`.
  Value load(Value mem, ValueRange idx, Value mask = {}, Value passthru = {});
  /// memref.load widened to `elt`.
  Value loadScalar(Value mem, ValueRange idx);
  /// Stores `v` (of `elt`), rounded to `mem`'s element type.
  void store(Value v, Value mem, ValueRange idx, Value mask = {});
  /// Horizontal reduction of a vector.
  Value reduce(vector::CombiningKind kind, Value v);
  /// A mask of the first min(n, lanes) lanes.
  Value maskFor(Value n);

private:
  std::optional<int64_t> constant(Value v);
};

} // namespace mlir::tfm::cpu

#endif // TFM_CONVERSION_TFMTOCPU_KERNELBUILDER_H
