//===- LowerToCPU.cpp - tfm on tensors to CPU kernels on buffers ----------===//
//
// Part of tfmc. The pass: rewrites every entry function's signature to
// buffers (inputs, then outputs written in place, then the weights buffer),
// walks the body in program order lowering each op, and records the weights
// buffer's layout on the module.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "tfm/Conversion/CpuTarget.h"
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

//===----------------------------------------------------------------------===//
// Lowering helpers
//===----------------------------------------------------------------------===//

Value Lowering::view(Value base, int64_t offset, MemRefType type,
                     ValueRange dynamicSizes) {
  Value off = arith::ConstantIndexOp::create(b, offset);
  return memref::ViewOp::create(b, type, base, off, dynamicSizes);
}

Value Lowering::placeholder(MemRefType type, ValueRange dynamicSizes) {
  hadError = true;
  return memref::AllocOp::create(b, type, dynamicSizes);
}

Value Lowering::allocFor(Value tensor, ValueRange dynamicSizes) {
  auto result = cast<OpResult>(tensor);
  auto t = cast<RankedTensorType>(tensor.getType());
  auto type = MemRefType::get(t.getShape(), t.getElementType());
  BufferAttr buffer =
      getResultBuffer(result.getOwner(), result.getResultNumber());
  if (!buffer) {
    result.getOwner()->emitOpError("has no planned buffer (run the plan "
                                   "pipeline before tfm-lower-to-cpu)");
    return placeholder(type, dynamicSizes);
  }
  switch (buffer.getKind()) {
  case BufferKind::arena:
    return view(workspace, buffer.getOffset(), type, dynamicSizes);
  case BufferKind::output:
    return outputs[buffer.getIndex()];
  case BufferKind::state:
    return args.lookup(buffer.getIndex());
  case BufferKind::input:
  case BufferKind::view:
    break;
  }
  result.getOwner()->emitOpError("result is planned as a view, not a buffer");
  return placeholder(type, dynamicSizes);
}

Value Lowering::scratch(MemRefType type, ValueRange dynamicSizes) {
  auto range =
      current ? current->getAttrOfType<BufferAttr>(attr::kScratch) : nullptr;
  int64_t bytes = elementBytes(type.getElementType());
  for (int64_t d : type.getShape())
    bytes *= ShapedType::isDynamic(d) ? 1 : d;
  if (!range || bytes > range.getBytes() - scratchUsed) {
    current->emitOpError("needs scratch memory the plan did not reserve");
    return placeholder(type, dynamicSizes);
  }
  Value v =
      view(workspace, range.getOffset() + scratchUsed, type, dynamicSizes);
  // Dynamic sizes: the scratch function reserved the bound; the next piece
  // starts after that bound, rounded to a cache line.
  int64_t reserved = range.getBytes() - scratchUsed;
  scratchUsed += type.hasStaticShape() ? (bytes + 63) / 64 * 64 : reserved;
  return v;
}

Value Lowering::scratchAt(Value offset, MemRefType type,
                          ValueRange dynamicSizes) {
  auto range =
      current ? current->getAttrOfType<BufferAttr>(attr::kScratch) : nullptr;
  if (!range) {
    current->emitOpError("needs scratch memory the plan did not reserve");
    return placeholder(type, dynamicSizes);
  }
  Value at = arith::AddIOp::create(
      b, arith::ConstantIndexOp::create(b, range.getOffset()), offset);
  return memref::ViewOp::create(b, type, workspace, at, dynamicSizes);
}

Value Lowering::weightsView(WeightEntryAttr e, MemRefType type) {
  return view(weights, e.getOffset(), type, {});
}

Value Lowering::weightView(WeightOp op) {
  WeightEntryAttr e = plan.lookup(op.getName(), WeightLayout::row_major,
                                  op.getType().getElementType());
  auto type =
      MemRefType::get(op.getType().getShape(), op.getType().getElementType());
  if (!e) {
    op.emitOpError("has no row-major entry in the weight plan");
    return placeholder(type, {});
  }
  return weightsView(e, type);
}

bool Lowering::onlyInPanels(WeightOp table) const {
  Type elt = table.getType().getElementType();
  return !plan.lookup(table.getName(), WeightLayout::row_major, elt) &&
         plan.lookup(table.getName(), WeightLayout::gemm_panels, elt);
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

WeightEntryAttr Lowering::panelEntry(WeightOp op, bool kn, int64_t nr,
                                     WeightLayout layout) const {
  for (WeightEntryAttr e : plan.getEntries())
    if (e.getLayout() == layout && e.getName() == op.getNameAttr() &&
        e.getKn() == kn && e.getPanelWidth() == nr &&
        e.getType().getElementType() == op.getType().getElementType() &&
        e.getQuant() == op.getQuantAttr())
      return e;
  return {};
}

Value Lowering::gemmScales(WeightOp op, bool kn, int64_t nr,
                           WeightLayout layout) {
  WeightEntryAttr e = panelEntry(op, kn, nr, layout);
  auto type = MemRefType::get(
      e ? e.getScalesShape() : SmallVector<int64_t>{1, 1, nr}, b.getF32Type());
  if (!e || !e.getQuant()) {
    op.emitOpError("has no quantized ")
        << stringifyWeightLayout(layout) << " in the weight plan";
    return placeholder(type, {});
  }
  return view(weights, e.getOffset() + e.getScalesOffset(), type, {});
}

Value Lowering::gemmPanels(WeightOp op, bool kn, int64_t nr,
                           WeightLayout layout) {
  if (WeightEntryAttr e = panelEntry(op, kn, nr, layout))
    return e.getQuant()
               ? weightsView(e,
                             MemRefType::get(e.getCodesShape(), b.getI8Type()))
               : weightsView(e, MemRefType::get(e.getStoredShape(),
                                                op.getType().getElementType()));
  op.emitOpError("has no ") << nr << "-wide " << stringifyWeightLayout(layout)
                            << " in the weight plan";
  ArrayRef<int64_t> w = op.getType().getShape().take_back(2);
  int64_t n = kn ? w[1] : w[0], k = kn ? w[0] : w[1];
  SmallVector<int64_t> shape(op.getType().getShape().drop_back(2));
  shape.append({(n + nr - 1) / nr, k, nr});
  return placeholder(MemRefType::get(shape,
                                     op.getType().getElementType()),
                     {});
}

Value Lowering::generatedTable(WeightLayout layout, int64_t cols, double base,
                               double scaling) {
  if (WeightEntryAttr e = plan.lookupTable(layout, cols, base, scaling))
    return weightsView(e, MemRefType::get(e.getType().getShape(),
                                          e.getType().getElementType()));
  emitError(b.getLoc()) << "the weight plan has no "
                        << stringifyWeightLayout(layout) << " table of " << cols
                        << " columns";
  return placeholder(MemRefType::get({1, cols}, b.getF32Type()), {});
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
  emitError(b.getLoc()) << "internal error: a kernel operand of type " << t
                        << " is not dense, but the plan promised it";
  hadError = true;
  return memref;
}

Value Lowering::asMatrix(Value memref, int64_t axis) {
  auto t = cast<MemRefType>(memref.getType());
  int64_t rank = t.getRank();
  if (rank == 2 && axis == 1)
    return memref;
  SmallVector<ReassociationIndices> groups(2);
  for (int64_t i = 0; i < rank; ++i)
    groups[i < axis ? 0 : 1].push_back(i);
  if (groups[0].empty()) {
    // Everything is one row: [1, N].
    memref = contiguous(memref);
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
  // Rows of unit stride whose leading dimensions merge collapse in place.
  if (!memref::CollapseShapeOp::isGuaranteedCollapsible(t, groups)) {
    emitError(b.getLoc()) << "internal error: " << t
                          << " does not collapse into rows, but the plan "
                             "promised it";
    hadError = true;
    return placeholder(MemRefType::get({1, 1}, t.getElementType()), {});
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
      .Case<ConvertOp>([&](ConvertOp c) -> LogicalResult {
        // Widening a stored weight happens in its readers' loads.
        if (isLoadFusedConvert(c))
          return success();
        return lowerElementwise(c, l);
      })
      .Case<AttentionOp>([&](AttentionOp a) { return lowerAttention(a, l); })
      .Case<MoEGateOp, MoEOp>([&](Operation *o) { return lowerMoE(o, l); })
      .Case<LinearOp, MatmulOp>([&](Operation *o) { return lowerGemm(o, l); })
      .Case<SoftmaxOp, LayerNormOp, RMSNormOp, AddLayerNormOp, AddRMSNormOp>(
          [&](Operation *o) { return lowerRowKernel(o, l); })
      .Case<ReshapeOp, TransposeOp, SliceOp, ConcatOp, CacheWriteOp, CopyOp>(
          [&](Operation *o) { return lowerShapeOp(o, l); })
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
        // Every other op (constants, gathers, positions, masks, reductions)
        // is lowered by Elementwise.cpp's lowerMisc, which rejects what it
        // does not know: a new op of that kind touches that file only.
        return lowerMisc(o, l);
      });
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

FailureOr<CpuKernelParams> mlir::tfm::resolveCpuKernelParams(
    const LowerToCPUPassOptions &o,
    llvm::function_ref<void(const llvm::Twine &)> error) {
  CpuKernelParams p;
  p.vectorWidth = o.vectorWidth;
  if (p.vectorWidth == 0 || (p.vectorWidth & (p.vectorWidth - 1))) {
    error("vector-width must be a power of two");
    return failure();
  }
  p.gemmNR = o.gemmNR ? o.gemmNR : 2 * o.vectorWidth;
  // Registers: MR rows of NR/lanes accumulators, NR/lanes B vectors and a
  // broadcast must fit (32 zmm with AVX-512, 16 otherwise).
  unsigned regs = o.vectorWidth >= 16 ? 32 : 16;
  unsigned perRow = std::max(1u, p.gemmNR / o.vectorWidth);
  p.gemmMR = o.gemmMR ? o.gemmMR
                      : (regs > perRow + 1 ? (regs - perRow - 1) / perRow : 0);
  if (p.gemmNR % o.vectorWidth != 0 || p.gemmMR == 0) {
    error("gemm-nr must be a positive multiple of vector-width");
    return failure();
  }
  if (o.gemmKC == 0 || o.gemmMC == 0) {
    error("gemm-kc and gemm-mc must be positive");
    return failure();
  }
  if (o.attentionBlockQ == 0 || o.attentionBlockK == 0) {
    error("attention blocks must be positive");
    return failure();
  }
  p.gemmKC = o.gemmKC;
  p.gemmMC = o.gemmMC;
  p.attentionBlockQ = o.attentionBlockQ;
  p.attentionBlockK = o.attentionBlockK;
  p.maxPositions = o.maxPositions;
  return p;
}

PlanOptions mlir::tfm::cpuPlanOptions(const CpuKernelParams &params) {
  PlanOptions opts;
  opts.panelWidth = params.gemmNR;
  opts.embeddingFromPanels = true;
  opts.maxPositions = params.maxPositions;
  opts.alignment = 64;
  opts.ioInArena = false;
  opts.scratch = [params](Operation *op, ShapeBounds &bounds) {
    return cpuScratchBytes(op, bounds, params);
  };
  return opts;
}

void mlir::tfm::registerCpuPlanTarget() {
  FailureOr<CpuKernelParams> params =
      resolveCpuKernelParams(LowerToCPUPassOptions(), [](const Twine &) {});
  registerPlanTarget("cpu", cpuPlanOptions(*params).scratch);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct LowerToCPUPass final : tfm::impl::LowerToCPUPassBase<LowerToCPUPass> {
  using Base::Base;

  LowerToCPUPassOptions options() const {
    LowerToCPUPassOptions o;
    o.vectorWidth = vectorWidth;
    o.gemmMR = gemmMR;
    o.gemmNR = gemmNR;
    o.gemmKC = gemmKC;
    o.gemmMC = gemmMC;
    o.attentionBlockQ = attentionBlockQ;
    o.attentionBlockK = attentionBlockK;
    o.maxPositions = maxPositions;
    return o;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<CpuKernelParams> opts = resolveCpuKernelParams(
        options(), [&](const Twine &msg) { module.emitError(msg); });
    if (failed(opts))
      return signalPassFailure();
    WeightPlanAttr plan = getWeightPlan(module);
    if (!plan) {
      module.emitError("the module has no weight plan (run the plan pipeline "
                       "before tfm-lower-to-cpu)");
      return signalPassFailure();
    }
    KernelOutliner outliner(module);
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (failed(lowerFunction(fn, *opts, plan, outliner)))
        return signalPassFailure();
  }

  /// Entry signature at the buffer level, from #tfm.entry: inputs (index
  /// scalars become rank-0 i64 buffers; state included), outputs, the
  /// weights buffer and the workspace (the arena).
  LogicalResult lowerFunction(func::FuncOp fn, const CpuKernelParams &opts,
                              WeightPlanAttr plan, KernelOutliner &outliner) {
    if (fn.isExternal())
      return success();
    EntryAttr entry = getEntryAttr(fn);
    if (!entry)
      return fn.emitError("has no #tfm.entry (run the plan pipeline before "
                          "tfm-lower-to-cpu)");
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("CPU lowering needs single-block functions");
    MLIRContext *ctx = &getContext();
    auto i64 = IntegerType::get(ctx, 64);
    auto bufferType = [&](Type t) -> Type {
      if (t.isIndex())
        return MemRefType::get({}, i64);
      auto rt = cast<RankedTensorType>(t);
      return MemRefType::get(rt.getShape(), rt.getElementType());
    };
    SmallVector<Type> args;
    for (IoAttr io : entry.getInputs())
      args.push_back(bufferType(io.getType()));
    for (IoAttr io : entry.getOutputs())
      args.push_back(bufferType(io.getType()));
    auto bytes =
        MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
    args.append({bytes, bytes});
    unsigned numIn = entry.getInputs().size(),
             numOut = entry.getOutputs().size();

    OpBuilder top(fn);
    auto newFn = func::FuncOp::create(top, fn.getLoc(), fn.getName(),
                                      FunctionType::get(ctx, args, {}));
    newFn->setAttr(attr::kEntry, entry);
    // The same ABI, spelled on the arguments for readers of this stage.
    auto name = [&](unsigned i, StringRef n) {
      newFn.setArgAttr(i, attr::kName, StringAttr::get(ctx, n));
    };
    for (IoAttr io : entry.getInputs()) {
      name(io.getArg(), io.getName());
      if (io.getIdBound() > 0)
        newFn.setArgAttr(io.getArg(), attr::kIdBound,
                         IntegerAttr::get(i64, io.getIdBound()));
    }
    for (auto [k, io] : llvm::enumerate(entry.getOutputs()))
      name(numIn + k, io.getName());
    name(numIn + numOut, "tfm.weights");
    name(numIn + numOut + 1, "tfm.workspace");
    newFn->setAttr(attr::kWorkspaceBytes,
                   IntegerAttr::get(i64, entry.getArena()));
    Block *block = newFn.addEntryBlock();
    Block &old = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(old.getTerminator());

    SmallVector<Value> outputs;
    for (unsigned k = 0; k < numOut; ++k)
      outputs.push_back(block->getArgument(numIn + k));
    llvm::DenseMap<int64_t, Value> stateArgs;
    for (IoAttr io : entry.getInputs())
      if (io.getRole() == IoRole::state)
        stateArgs[io.getArg()] = block->getArgument(io.getArg());

    ImplicitLocOpBuilder b(fn.getLoc(), ctx);
    b.setInsertionPointToStart(block);
    Lowering l(b, opts, plan, block->getArgument(numIn + numOut),
               block->getArgument(numIn + numOut + 1), outputs, stateArgs);
    for (IoAttr io : entry.getInputs()) {
      Value arg = block->getArgument(io.getArg());
      if (io.getType().isIndex()) {
        Value v = memref::LoadOp::create(b, arg, ValueRange{});
        l.bind(old.getArgument(io.getArg()),
               arith::IndexCastOp::create(b, b.getIndexType(), v));
        continue;
      }
      l.bind(old.getArgument(io.getArg()), arg);
    }
    for (Operation &op : old.without_terminator()) {
      Operation *last = block->empty() ? nullptr : &block->back();
      l.setCurrent(&op);
      if (failed(lowerOp(&op, l)) || l.hadError)
        return failure();
      // What this op lowered to (views may also have been added at the top
      // of the function; they are not in this range).
      SmallVector<Operation *> generated;
      if (!block->empty())
        for (Operation *o = last ? last->getNextNode() : &block->front(); o;
             o = o->getNextNode())
          generated.push_back(o);
      SmallVector<Value> liveOut;
      for (Value r : op.getResults())
        liveOut.push_back(l.lowered(r));
      outliner.outline(generated, op.getName().stripDialect().str(), liveOut);
    }
    // The plan wrote every result where it belongs (tfm-plan-views copied
    // the others); check that it did.
    b.setLoc(ret.getLoc());
    for (auto [r, v] : llvm::enumerate(ret.getOperands())) {
      Value produced = l.lookup(v);
      Value want;
      if (auto tied = fn.getResultAttrOfType<IntegerAttr>(r, attr::kTiedTo))
        want = block->getArgument(tied.getInt());
      else
        for (auto [k, io] : llvm::enumerate(entry.getOutputs()))
          if (io.getArg() == static_cast<int64_t>(r))
            want = outputs[k];
      if (produced != want)
        return fn.emitError("result ")
               << r << " is not written to its buffer (run tfm-plan-views)";
    }
    func::ReturnOp::create(b);
    fn.erase();
    return success();
  }
};
} // namespace

LogicalResult mlir::tfm::parseCpuOptions(
    StringRef text, LowerToCPUPassOptions &options,
    llvm::function_ref<LogicalResult(const Twine &)> error) {
  LowerToCPUPass pass;
  if (failed(pass.initializeOptions(text, error)))
    return failure();
  options = pass.options();
  return success();
}
