//===- Planner.cpp - fused tfm IR to a Vulkan dispatch plan ---------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

std::string mlir::tfm::vk::locationString(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return (f.getFilename().getValue() + ":" + llvm::Twine(f.getLine()) + ":" +
            llvm::Twine(f.getColumn()))
        .str();
  if (auto n = dyn_cast<NameLoc>(loc)) {
    std::string child = locationString(n.getChildLoc());
    return n.getName().str() + (child.empty() ? "" : " (" + child + ")");
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string s;
    for (Location l : fused.getLocations()) {
      std::string one = locationString(l);
      if (!one.empty() && s.find(one) == std::string::npos)
        s += (s.empty() ? "" : ", ") + one;
    }
    return s;
  }
  if (auto c = dyn_cast<CallSiteLoc>(loc))
    return locationString(c.getCallee());
  return "";
}

//===----------------------------------------------------------------------===//
// Views
//===----------------------------------------------------------------------===//

int Planner::newStorage(Buf buf, int64_t offset, int64_t bytes) {
  Storage s;
  s.buf = buf;
  s.offset = offset;
  s.bytes = std::max<int64_t>(bytes, 4);
  entry.storages.push_back(s);
  return entry.storages.size() - 1;
}

llvm::SmallVector<Sym, 4> Planner::contiguousStrides(llvm::ArrayRef<Sym> dims) {
  llvm::SmallVector<Sym, 4> strides(dims.size());
  Sym s = Sym::c(1);
  for (size_t d = dims.size(); d-- > 0;) {
    strides[d] = s;
    s = S().mul(s, dims[d]);
  }
  return strides;
}

Sym Planner::numel(llvm::ArrayRef<Sym> dims) {
  Sym n = Sym::c(1);
  for (const Sym &d : dims)
    n = S().mul(n, d);
  return n;
}

View Planner::result(Value r, llvm::ArrayRef<Sym> dims) {
  View v;
  v.elt = elemOf(cast<RankedTensorType>(r.getType()).getElementType());
  v.dims.assign(dims.begin(), dims.end());
  v.strides = contiguousStrides(dims);
  auto res = cast<OpResult>(r);
  BufferAttr b = getResultBuffer(res.getOwner(), res.getResultNumber());
  auto fail = [&](const Twine &why) {
    res.getOwner()->emitOpError(why);
    hadError = true;
    v.storage = newStorage(Buf::Arena, 0, 4);
    return v;
  };
  if (!b)
    return fail("has no planned buffer (run the plan pipeline first)");
  switch (b.getKind()) {
  case BufferKind::arena:
    v.storage = newStorage(Buf::Arena, b.getOffset(), b.getBytes());
    return v;
  case BufferKind::output:
    v.storage = outputStorage[b.getIndex()];
    return v;
  case BufferKind::state:
    v.storage = stateStorage.lookup(b.getIndex());
    return v;
  case BufferKind::input:
  case BufferKind::view:
    break;
  }
  return fail("result is planned as a view, not a buffer");
}

View Planner::scratch(llvm::ArrayRef<Sym> dims, Elem elt) {
  View v;
  v.elt = elt;
  v.dims.assign(dims.begin(), dims.end());
  v.strides = contiguousStrides(dims);
  int64_t bytes = S().upper(numel(dims)) * elemBytes(elt);
  auto range = current ? current->getAttrOfType<BufferAttr>(attr::kScratch)
                       : BufferAttr();
  if (!range || scratchUsed + bytes > range.getBytes()) {
    if (current)
      current->emitOpError("needs scratch memory the plan did not reserve");
    hadError = true;
    v.storage = newStorage(Buf::Arena, 0, 4);
    return v;
  }
  v.storage = newStorage(Buf::Arena, range.getOffset() + scratchUsed, bytes);
  scratchUsed += (bytes + 255) / 256 * 256;
  return v;
}

bool Planner::isContiguous(const View &v) {
  llvm::SmallVector<Sym, 4> want = contiguousStrides(v.dims);
  for (int64_t d = 0; d < v.rank(); ++d)
    if (!v.dims[d].isConst(1) && !(v.strides[d] == want[d]))
      return false;
  return true;
}

View Planner::contiguous(const View &v) {
  if (!isContiguous(v)) {
    if (current)
      current->emitOpError("internal error: an operand is not dense, but "
                           "the plan promised it");
    hadError = true;
  }
  return v;
}

View Planner::broadcastTo(const View &v, llvm::ArrayRef<Sym> dims) {
  View out = v;
  out.dims.assign(dims.begin(), dims.end());
  out.strides.assign(dims.size(), Sym::c(0));
  size_t skip = dims.size() - v.rank();
  for (int64_t d = 0; d < v.rank(); ++d)
    if (!v.dims[d].isConst(1) || dims[skip + d].isConst(1))
      out.strides[skip + d] = v.strides[d];
  return out;
}

FailureOr<Sym> Planner::index(Value v) {
  auto it = indices.find(v);
  if (it != indices.end())
    return it->second;
  if (auto c = v.getDefiningOp<arith::ConstantIndexOp>())
    return Sym::c(c.value());
  if (Operation *op = v.getDefiningOp())
    return op->emitOpError("computes an index the Vulkan backend cannot "
                           "evaluate at run time");
  return failure();
}

View Planner::weightView(WeightEntryAttr placed,
                         llvm::ArrayRef<int64_t> shape) {
  View v;
  v.elt = elemOf(placed.getType().getElementType());
  v.offset = placed.getOffset() / elemBytes(v.elt);
  for (int64_t d : shape)
    v.dims.push_back(Sym::c(d));
  v.strides = contiguousStrides(v.dims);
  return v;
}

FailureOr<View> Planner::view(Value tensor) {
  auto it = views.find(tensor);
  if (it != views.end())
    return it->second;
  // A weight widened by a convert fused into its readers' loads is read as
  // stored (views carry their element type).
  if (isLoadFusedConvert(tensor.getDefiningOp()))
    return view(tensor.getDefiningOp()->getOperand(0));
  auto w = tensor.getDefiningOp<WeightOp>();
  if (!w) {
    if (Operation *op = tensor.getDefiningOp())
      return op->emitOpError("result used before the Vulkan backend planned "
                             "it");
    return failure();
  }
  WeightEntryAttr placed = weights.lookup(w.getName(), WeightLayout::row_major,
                                          w.getType().getElementType());
  if (!placed)
    return w.emitOpError("has no row-major entry in the weight plan");
  View v = weightView(placed, placed.getType().getShape());
  views[tensor] = v;
  return v;
}

FailureOr<View> Planner::weightPanels(WeightOp op, bool kn, int64_t nr,
                                      WeightLayout layout) {
  for (WeightEntryAttr e : weights.getEntries())
    if (e.getLayout() == layout && e.getName() == op.getNameAttr() &&
        e.getKn() == kn && e.getPanelWidth() == nr &&
        e.getType().getElementType() == op.getType().getElementType())
      return weightView(e, e.getStoredShape());
  return op.emitOpError("has no ")
         << nr << "-wide " << stringifyWeightLayout(layout)
         << " in the weight plan";
}

FailureOr<View> Planner::generatedTable(WeightLayout layout, int64_t cols,
                                        double base, double scaling) {
  WeightEntryAttr e = weights.lookupTable(layout, cols, base, scaling);
  if (!e)
    return emitError(function.getLoc())
           << "the weight plan has no " << stringifyWeightLayout(layout)
           << " table of " << cols << " columns";
  return weightView(e, e.getType().getShape());
}

llvm::SmallVector<Sym, 4> Planner::dimsOf(Value result) {
  auto t = cast<RankedTensorType>(result.getType());
  llvm::SmallVector<Sym, 4> dims;
  for (int64_t d : t.getShape())
    dims.push_back(Sym::c(d));
  return dims;
}

//===----------------------------------------------------------------------===//
// Dispatches
//===----------------------------------------------------------------------===//

Sym Planner::groupsFor(Sym n, int64_t perGroup) {
  return S().min(S().ceilDiv(n, Sym::c(perGroup)),
                 Sym::c(target.maxGroupCount));
}

void Planner::dispatch(KernelWriter &w, Sym gx, Sym gy, Sym gz) {
  std::string source = w.finish();
  auto [it, inserted] =
      module.kernelIndex.try_emplace(source, module.kernels.size());
  if (inserted) {
    Kernel k;
    k.name = w.kernelKind() + "_" + std::to_string(module.kernels.size());
    k.source = source;
    k.localSize = w.workgroupSize();
    module.kernels.push_back(std::move(k));
  }
  if (w.boundArrays().count("AH"))
    module.features.insert("storage16");
  if (w.boundArrays().count("AB"))
    module.features.insert("storage8");
  Kernel &k = module.kernels[it->second];
  if (!origin.empty() && k.origins.size() < 8 &&
      llvm::find(k.origins, origin) == k.origins.end())
    k.origins.push_back(origin);
  Dispatch d;
  d.kernel = it->second;
  d.push = w.pushValues();
  d.groups[0] = S().slotOf(gx);
  d.groups[1] = S().slotOf(gy);
  d.groups[2] = S().slotOf(gz);
  entry.dispatches.push_back(std::move(d));
}

LogicalResult Planner::pointwise(const View &out, llvm::ArrayRef<View> ins,
                                 const PointwiseBody &body,
                                 const std::string &kind) {
  unsigned wg = target.pointThreads;
  KernelWriter w(entry, kind, wg);
  Sym n = numel(out.dims);
  int64_t rank = out.rank();
  std::ostream &b = w.body;
  b << "  int n = " << n.glsl() << ";\n";
  b << "  for (int i = int(gl_GlobalInvocationID.x); i < n; i += "
       "int(gl_NumWorkGroups.x) * "
    << wg << ") {\n";
  llvm::SmallVector<std::string, 4> coords;
  for (int64_t d = 0; d < rank; ++d)
    coords.push_back("c" + std::to_string(d));
  if (rank > 0) {
    b << "    int r = i;\n";
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (d == 0) {
        b << "    int c0 = r;\n";
        break;
      }
      b << "    int c" << d << " = r % " << out.dims[d].glsl()
        << "; r /= " << out.dims[d].glsl() << ";\n";
    }
  }
  llvm::SmallVector<std::string, 4> vals;
  for (auto [k, in] : llvm::enumerate(ins)) {
    std::string name = "x" + std::to_string(k);
    b << "    " << (isIntElem(in.elt) ? "int " : "float ") << name << " = "
      << w.load(in, KernelWriter::linear(in, coords)) << ";\n";
    vals.push_back(name);
  }
  std::string result;
  // The body's statements are indented by the caller's convention.
  if (failed(body(w, vals, coords, result)))
    return failure();
  b << "    " << w.store(out, KernelWriter::linear(out, coords), result)
    << "\n";
  b << "  }\n";
  dispatch(w, groupsFor(n, wg), Sym::c(1), Sym::c(1));
  return success();
}

void Planner::copy(const View &in, const View &out) {
  (void)pointwise(
      out, {in},
      [](KernelWriter &, llvm::ArrayRef<std::string> in,
         llvm::ArrayRef<std::string>, std::string &r) {
        r = in[0];
        return success();
      },
      "copy");
}

//===----------------------------------------------------------------------===//
// The walk
//===----------------------------------------------------------------------===//

LogicalResult Planner::planOp(Operation &op) {
  current = &op;
  scratchUsed = 0;
  origin = op.getName().getStringRef().str();
  std::string where = locationString(op.getLoc());
  if (!where.empty())
    origin += " at " + where;
  return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
      .Case<WeightOp>([](auto) { return success(); }) // viewed on first use
      .Case<ConvertOp>([&](ConvertOp c) -> LogicalResult {
        if (isLoadFusedConvert(c))
          return success(); // read through (Planner::view)
        return genElementwise(c);
      })
      .Case<LinearOp, MatmulOp>([&](Operation *o) { return genGemm(o); })
      .Case<AttentionOp>([&](AttentionOp a) { return genAttention(a); })
      .Case<MoEGateOp, MoEOp>([&](Operation *o) { return genMoE(o); })
      .Case<SoftmaxOp, LayerNormOp, RMSNormOp, AddLayerNormOp, AddRMSNormOp>(
          [&](Operation *o) { return genRows(o); })
      .Case<ReduceMaxOp, ReduceSumOp, ReduceMeanOp>(
          [&](Operation *o) { return genReduce(o); })
      .Case<ReshapeOp, TransposeOp, SliceOp, ConcatOp, CacheWriteOp, CopyOp>(
          [&](Operation *o) { return genShapeOp(o); })
      .Case<EmbeddingOp>([&](EmbeddingOp e) {
        return genGather(e, e.getTable(), e.getIds(), 0);
      })
      .Case<GatherOp>([&](GatherOp g) {
        return genGather(g, g.getInput(), g.getIndices(), g.getAxis());
      })
      .Case<tensor::DimOp>([&](tensor::DimOp d) -> LogicalResult {
        std::optional<int64_t> axis = d.getConstantIndex();
        FailureOr<View> v = view(d.getSource());
        if (!axis || failed(v))
          return d.emitOpError("needs a constant dimension of a planned "
                               "tensor");
        indices[d.getResult()] = v->dims[*axis];
        return success();
      })
      .Case<arith::ConstantIndexOp>([&](arith::ConstantIndexOp c) {
        indices[c.getResult()] = Sym::c(c.value());
        return success();
      })
      .Case<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivSIOp,
            arith::DivUIOp, arith::CeilDivSIOp, arith::MinSIOp, arith::MaxSIOp>(
          [&](Operation *o) -> LogicalResult {
            if (!o->getResult(0).getType().isIndex())
              return o->emitOpError("on non-index values is not supported by "
                                    "the Vulkan backend");
            FailureOr<Sym> a = index(o->getOperand(0)),
                           b = index(o->getOperand(1));
            if (failed(a) || failed(b))
              return failure();
            Sym r =
                llvm::TypeSwitch<Operation *, Sym>(o)
                    .Case<arith::AddIOp>([&](auto) { return S().add(*a, *b); })
                    .Case<arith::SubIOp>([&](auto) { return S().sub(*a, *b); })
                    .Case<arith::MulIOp>([&](auto) { return S().mul(*a, *b); })
                    .Case<arith::CeilDivSIOp>(
                        [&](auto) { return S().ceilDiv(*a, *b); })
                    .Case<arith::MinSIOp>([&](auto) { return S().min(*a, *b); })
                    .Case<arith::MaxSIOp>([&](auto) { return S().max(*a, *b); })
                    .Default([&](auto) { return S().div(*a, *b); });
            indices[o->getResult(0)] = r;
            return success();
          })
      .Default([&](Operation *o) -> LogicalResult {
        if (isa<ScalarComputeOpInterface>(o))
          return genElementwise(o);
        // Every other op (constants, positions, masks, ...) is planned by
        // KernelsPointwise.cpp's genMisc, which rejects what it does not
        // know: a new op of that kind touches that file only.
        if (o->getNumResults() == 1 &&
            isa<RankedTensorType>(o->getResult(0).getType()))
          return genMisc(o);
        return o->emitOpError("is not supported by the Vulkan backend");
      });
}

LogicalResult Planner::run(func::FuncOp fn) {
  function = fn;
  entry.name = fn.getName().str();
  EntryAttr abi = getEntryAttr(fn);
  if (!abi)
    return fn.emitError("has no #tfm.entry (run the plan pipeline first)");
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("the Vulkan backend needs single-block functions");
  Block &body = fn.getBody().front();
  entry.arenaBytes = std::max<int64_t>(abi.getArena(), 256);
  // Inputs: arena ranges the runtime uploads to, state ranges, or scalar
  // slots (index inputs), all where the plan put them.
  for (IoAttr io : abi.getInputs()) {
    Value arg = body.getArgument(io.getArg());
    if (io.getType().isIndex()) {
      indices[arg] =
          S().inputIndex(io.getArg(), std::max<int64_t>(indexBound, 1));
      entry.inputs.push_back({"scalar", 0, S().slotOf(indices[arg])});
      continue;
    }
    auto t = cast<RankedTensorType>(io.getType());
    View v;
    v.elt = elemOf(t.getElementType());
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (!t.isDynamicDim(d)) {
        v.dims.push_back(Sym::c(t.getDimSize(d)));
        continue;
      }
      v.dims.push_back(
          S().inputDim(io.getArg(), d, abi.getBound(io.getDimName(d))));
    }
    v.strides = contiguousStrides(v.dims);
    if (io.getRole() == IoRole::state) {
      v.storage = newStorage(Buf::State, io.getOffset(), io.getBytes());
      stateStorage[io.getArg()] = v.storage;
      entry.inputs.push_back({"state", io.getOffset(), -1});
    } else {
      v.storage = newStorage(Buf::Arena, io.getOffset(), io.getBytes());
      entry.inputs.push_back({"arena", io.getOffset(), -1});
    }
    views[arg] = v;
  }
  for (IoAttr io : abi.getOutputs()) {
    outputStorage.push_back(
        newStorage(Buf::Arena, io.getOffset(), io.getBytes()));
    entry.outputs.push_back({"arena", io.getOffset(), -1});
  }
  for (Operation &op : body.without_terminator())
    if (failed(planOp(op)) || hadError)
      return failure();
  return finishEntry(fn);
}

LogicalResult Planner::finishEntry(func::FuncOp fn) {
  // tfm-plan-views and tfm-plan-buffers put every result where it belongs;
  // check that the kernels wrote them there.
  Block &body = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  EntryAttr abi = getEntryAttr(fn);
  for (auto [r, v] : llvm::enumerate(ret.getOperands())) {
    FailureOr<View> produced = view(v);
    if (failed(produced))
      return failure();
    int want = -1;
    if (auto t = fn.getResultAttrOfType<IntegerAttr>(r, attr::kTiedTo))
      want = stateStorage.lookup(t.getInt());
    else
      for (auto [k, io] : llvm::enumerate(abi.getOutputs()))
        if (io.getArg() == static_cast<int64_t>(r))
          want = outputStorage[k];
    if (produced->storage != want || produced->offset != 0 ||
        !produced->dynOffset.isConst(0) || !isContiguous(*produced))
      return fn.emitError("result ")
             << r << " is not written to its buffer (run tfm-plan-views)";
  }
  placeBarriers();
  return success();
}

//===----------------------------------------------------------------------===//
// Barriers
//===----------------------------------------------------------------------===//

void Planner::placeBarriers() {
  // Every dispatch writes the arena, and nearly every one reads what the
  // previous one wrote. Disjoint byte ranges of one buffer could skip the
  // barrier, but Vulkan's synchronization validation tracks a storage
  // buffer descriptor as a whole, so it would flag those; one global memory
  // barrier between consecutive dispatches is what the validated plan uses.
  for (size_t i = 1; i < entry.dispatches.size(); ++i)
    entry.dispatches[i].barrier = true;
}
