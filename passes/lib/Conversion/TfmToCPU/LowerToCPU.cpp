//===- LowerToCPU.cpp - tfm on tensors to CPU kernels on buffers ----------===//
//
// Part of tfmc. The pass: rewrites every entry function's signature to
// buffers (inputs, then outputs written in place, then the weights buffer),
// walks the body in program order lowering each op, and records the weights
// buffer's layout on the module.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "tfm/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

#define DEBUG_TYPE "tfm-lower-to-cpu"

namespace mlir::tfm {
#define GEN_PASS_DEF_LOWERTOCPUPASS
#include "tfm/Conversion/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::cpu;

static constexpr int64_t kAlignment = 64;

//===----------------------------------------------------------------------===//
// WeightPlan
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// Lowering helpers
//===----------------------------------------------------------------------===//

Value Lowering::allocTemp(MemRefType type, ValueRange dynamicSizes) {
  return memref::AllocOp::create(b, type, dynamicSizes,
                                 b.getI64IntegerAttr(kAlignment));
}

Value Lowering::allocFor(Value tensor, ValueRange dynamicSizes) {
  if (Value out = outputFor.lookup(tensor)) {
    outputFor.erase(tensor); // one producer writes it
    return out;
  }
  auto t = cast<RankedTensorType>(tensor.getType());
  return allocTemp(MemRefType::get(t.getShape(), t.getElementType()),
                   dynamicSizes);
}

Value Lowering::weightsView(const WeightEntry &e, MemRefType type) {
  Value offset = arith::ConstantIndexOp::create(b, e.offset);
  return memref::ViewOp::create(b, type, weights, offset, ValueRange{});
}

Value Lowering::weightView(WeightOp op) {
  const WeightEntry &e = plan.add(weightEntryFor(op));
  return weightsView(e, MemRefType::get(op.getType().getShape(),
                                        op.getType().getElementType()));
}

Value Lowering::lookup(Value tensor) {
  if (Value v = map.lookupOrNull(tensor))
    return v;
  auto w = tensor.getDefiningOp<WeightOp>();
  if (!w)
    return Value();
  // At the top of the function: the view is then valid everywhere.
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(weights.getParentBlock());
  Value view = weightView(w);
  map.map(tensor, view);
  return view;
}

Value Lowering::gemmPanels(WeightOp op, bool kn, int64_t nr) {
  const WeightEntry &e = plan.addGemmPanels(op, kn, nr);
  return weightsView(
      e, MemRefType::get(e.panelShape(), op.getType().getElementType()));
}

Value Lowering::sinusoidTable(int64_t rows, int64_t d, double base) {
  const WeightEntry &e = plan.addSinusoidal(rows, d, base);
  return weightsView(e, MemRefType::get({e.shape[0], d}, b.getF32Type()));
}

Value Lowering::dim(Value memref, int64_t d) {
  auto t = cast<MemRefType>(memref.getType());
  if (!t.isDynamicDim(d))
    return arith::ConstantIndexOp::create(b, t.getDimSize(d));
  return memref::DimOp::create(b, memref, d);
}

SmallVector<Value> Lowering::dynamicSizesLike(ShapedType type, Value like) {
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(dim(like, i));
  return sizes;
}

Value Lowering::contiguous(Value memref) {
  auto t = cast<MemRefType>(memref.getType());
  if (t.getLayout().isIdentity() || t.areTrailingDimsContiguous(t.getRank()))
    return memref;
  Value copy = allocTemp(MemRefType::get(t.getShape(), t.getElementType()),
                         dynamicSizesLike(t, memref));
  linalg::CopyOp::create(b, memref, copy);
  return copy;
}

Value Lowering::asMatrix(Value memref, int64_t axis) {
  memref = contiguous(memref);
  auto t = cast<MemRefType>(memref.getType());
  int64_t rank = t.getRank();
  if (rank == 2 && axis == 1)
    return memref;
  SmallVector<ReassociationIndices> groups(2);
  for (int64_t i = 0; i < rank; ++i)
    groups[i < axis ? 0 : 1].push_back(i);
  if (groups[0].empty()) {
    // Everything is one row: [1, N].
    SmallVector<ReassociationIndices> one = {groups[1]};
    Value flat = memref::CollapseShapeOp::create(b, memref, one);
    auto ft = cast<MemRefType>(flat.getType());
    SmallVector<ReassociationIndices> expand = {{0, 1}};
    SmallVector<int64_t> shape = {1, ft.getDimSize(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
    sizes.push_back(ft.isDynamicDim(0)
                        ? OpFoldResult(dim(flat, 0))
                        : OpFoldResult(b.getIndexAttr(shape[1])));
    return memref::ExpandShapeOp::create(
        b, MemRefType::get(shape, ft.getElementType()), flat, expand, sizes);
  }
  return memref::CollapseShapeOp::create(b, memref, groups);
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

LogicalResult mlir::tfm::cpu::lowerOp(Operation *op, Lowering &l) {
  l.b.setLoc(op->getLoc());
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<WeightOp>([&](WeightOp) {
        return success(); // viewed on first use (Lowering::lookup)
      })
      .Case<AttentionOp>([&](AttentionOp a) { return lowerAttention(a, l); })
      .Case<LinearOp, MatmulOp>([&](Operation *o) { return lowerGemm(o, l); })
      .Case<SoftmaxOp, LayerNormOp, RMSNormOp, AddLayerNormOp, AddRMSNormOp>(
          [&](Operation *o) { return lowerRowKernel(o, l); })
      .Case<ReshapeOp, TransposeOp, SliceOp, ConcatOp, CacheWriteOp>(
          [&](Operation *o) { return lowerShapeOp(o, l); })
      .Case<ConstantOp, EmbeddingOp, GatherOp, PositionalEncodingOp,
            CausalMaskOp, PaddingMaskOp, ReduceMaxOp, ReduceSumOp, ReduceMeanOp,
            RangeOp>([&](Operation *o) { return lowerMisc(o, l); })
      .Case<tensor::DimOp>([&](tensor::DimOp d) -> LogicalResult {
        std::optional<int64_t> index = d.getConstantIndex();
        if (!index)
          return d.emitOpError("needs a constant dimension index");
        l.bind(d.getResult(), l.dim(l.lookup(d.getSource()), *index));
        return success();
      })
      .Default([&](Operation *o) -> LogicalResult {
        if (isa<ScalarComputeOpInterface>(o))
          return lowerElementwise(o, l);
        // Scalar computations (e.g. a KV-cache offset) are kept as they are.
        auto isTensor = [](Type t) { return isa<TensorType>(t); };
        if (o->getNumRegions() == 0 && isMemoryEffectFree(o) &&
            llvm::none_of(o->getOperandTypes(), isTensor) &&
            llvm::none_of(o->getResultTypes(), isTensor)) {
          l.cloneScalar(o);
          return success();
        }
        return o->emitOpError("is not supported by the CPU backend");
      });
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct LowerToCPUPass final : tfm::impl::LowerToCPUPassBase<LowerToCPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    CpuOptions opts;
    opts.vectorWidth = vectorWidth;
    opts.gemmNR = gemmNR ? gemmNR : 2 * vectorWidth;
    // Registers: MR rows of NR/lanes accumulators, NR/lanes B vectors and a
    // broadcast must fit (32 zmm with AVX-512, 16 otherwise).
    unsigned regs = vectorWidth >= 16 ? 32 : 16;
    unsigned perRow = opts.gemmNR / vectorWidth;
    opts.gemmMR = gemmMR ? gemmMR : (regs - perRow - 1) / perRow;
    opts.gemmKC = gemmKC;
    opts.gemmMC = gemmMC;
    opts.attentionBlockQ = attentionBlockQ;
    opts.attentionBlockK = attentionBlockK;
    opts.maxPositions = maxPositions;
    if (opts.gemmNR % vectorWidth != 0 || opts.gemmMR == 0) {
      module.emitError("gemm-nr must be a positive multiple of vector-width");
      return signalPassFailure();
    }
    if (opts.gemmKC == 0 || opts.gemmMC == 0) {
      module.emitError("gemm-kc and gemm-mc must be positive");
      return signalPassFailure();
    }

    WeightPlan plan;
    KernelOutliner outliner(module);
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (failed(lowerFunction(fn, opts, plan, outliner)))
        return signalPassFailure();
    Builder b(&getContext());
    module->setAttr(kWeightPlanAttr, plan.toAttr(b));
    module->setAttr(kWeightBytesAttr, b.getI64IntegerAttr(plan.totalBytes()));
  }

  /// Entry signature at the buffer level: inputs (index scalars become
  /// rank-0 i64 buffers; tied inputs are state), outputs not tied to an
  /// input, then the weights buffer.
  LogicalResult lowerFunction(func::FuncOp fn, const CpuOptions &opts,
                              WeightPlan &plan, KernelOutliner &outliner) {
    if (fn.isExternal())
      return success();
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("CPU lowering needs single-block functions");
    FunctionType type = fn.getFunctionType();
    MLIRContext *ctx = &getContext();
    auto i64 = IntegerType::get(ctx, 64);
    unsigned numIn = type.getNumInputs(), numRes = type.getNumResults();

    SmallVector<Type> args;
    for (Type t : type.getInputs()) {
      if (t.isIndex()) {
        args.push_back(MemRefType::get({}, i64));
        continue;
      }
      auto rt = dyn_cast<RankedTensorType>(t);
      if (!rt)
        return fn.emitError("entry arguments must be ranked tensors or "
                            "indices, got ")
               << t;
      args.push_back(MemRefType::get(rt.getShape(), rt.getElementType()));
    }
    // Results tied to an argument update its buffer and are not outputs.
    SmallVector<int64_t> tiedTo(numRes, -1);
    SmallVector<unsigned> outputs;
    for (unsigned i = 0; i < numRes; ++i) {
      auto rt = dyn_cast<RankedTensorType>(type.getResult(i));
      if (!rt)
        return fn.emitError("entry results must be ranked tensors, got ")
               << type.getResult(i);
      if (auto tied = fn.getResultAttrOfType<IntegerAttr>(i, kTiedToAttr)) {
        int64_t arg = tied.getInt();
        if (arg < 0 || arg >= numIn || type.getInput(arg) != rt)
          return fn.emitError("result ")
                 << i << " is tied to argument " << arg
                 << ", which does not exist or has another type";
        tiedTo[i] = arg;
        continue;
      }
      outputs.push_back(i);
      args.push_back(MemRefType::get(rt.getShape(), rt.getElementType()));
    }
    unsigned numOut = outputs.size();
    args.push_back(
        MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8)));

    OpBuilder top(fn);
    auto newFn = func::FuncOp::create(top, fn.getLoc(), fn.getName(),
                                      FunctionType::get(ctx, args, {}));
    auto copyAttrs = [&](DictionaryAttr from, unsigned to) {
      if (!from)
        return;
      for (StringRef key : {kNameAttr, kDimNamesAttr})
        if (Attribute a = from.get(key))
          newFn.setArgAttr(to, key, a);
    };
    for (unsigned i = 0; i < numIn; ++i) {
      copyAttrs(fn.getArgAttrDict(i), i);
      // Token ids must index every table they are looked up in; the runtime
      // checks them against this bound before running.
      if (int64_t bound = tokenIdBound(fn.getArgument(i)))
        newFn.setArgAttr(i, "tfm.id_bound", IntegerAttr::get(i64, bound));
    }
    for (unsigned i = 0; i < numRes; ++i)
      if (tiedTo[i] >= 0)
        newFn.setArgAttr(tiedTo[i], kStateAttr, UnitAttr::get(ctx));
    for (auto [o, r] : llvm::enumerate(outputs))
      copyAttrs(fn.getResultAttrDict(r), numIn + o);
    newFn.setArgAttr(numIn + numOut, kNameAttr,
                     StringAttr::get(ctx, "tfm.weights"));
    if (Attribute bounds = fn->getAttr(kDimBoundsAttr))
      newFn->setAttr(kDimBoundsAttr, bounds);
    newFn->setAttr(kEntryAttr,
                   DictionaryAttr::get(
                       ctx, {NamedAttribute(StringAttr::get(ctx, "inputs"),
                                            IntegerAttr::get(i64, numIn)),
                             NamedAttribute(StringAttr::get(ctx, "outputs"),
                                            IntegerAttr::get(i64, numOut))}));
    Block *entry = newFn.addEntryBlock();

    Block &old = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(old.getTerminator());
    // Returned values are written straight into the output (or tied state)
    // buffers by their producers (each buffer once; arguments and repeated
    // values are copied).
    auto bufferOf = [&](unsigned r) {
      return tiedTo[r] >= 0
                 ? entry->getArgument(tiedTo[r])
                 : entry->getArgument(
                       numIn + (llvm::find(outputs, r) - outputs.begin()));
    };
    llvm::DenseMap<Value, Value> outputFor;
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (!isa<BlockArgument>(v) && !outputFor.count(v))
        outputFor[v] = bufferOf(i);

    ImplicitLocOpBuilder b(fn.getLoc(), ctx);
    b.setInsertionPointToStart(entry);
    Lowering l(b, opts, plan, entry->getArgument(numIn + numOut),
               std::move(outputFor));
    for (unsigned i = 0; i < numIn; ++i) {
      Value arg = entry->getArgument(i);
      if (type.getInput(i).isIndex()) {
        Value v = memref::LoadOp::create(b, arg, ValueRange{});
        l.bind(old.getArgument(i),
               arith::IndexCastOp::create(b, b.getIndexType(), v));
        continue;
      }
      l.bind(old.getArgument(i), arg);
    }
    for (Operation &op : old.without_terminator()) {
      Operation *last = entry->empty() ? nullptr : &entry->back();
      if (failed(lowerOp(&op, l)))
        return failure();
      // What this op lowered to (views may also have been added at the top
      // of the function; they are not in this range).
      SmallVector<Operation *> generated;
      if (!entry->empty())
        for (Operation *o = last ? last->getNextNode() : &entry->front(); o;
             o = o->getNextNode())
          generated.push_back(o);
      SmallVector<Value> liveOut;
      for (Value r : op.getResults())
        liveOut.push_back(l.lowered(r));
      outliner.outline(generated, op.getName().stripDialect().str(), liveOut);
    }
    b.setLoc(ret.getLoc());
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      Value out = bufferOf(i);
      Value produced = l.lookup(v);
      if (produced != out)
        linalg::CopyOp::create(b, produced, out);
    }
    func::ReturnOp::create(b);
    fn.erase();
    return success();
  }
};
} // namespace
