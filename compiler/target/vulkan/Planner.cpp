//===- Planner.cpp - fused tfm IR to a Vulkan dispatch plan ---------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

#include "tfm/Conversion/Passes.h"

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

int Planner::newStorage(Buf buf, int64_t bytes) {
  Storage s;
  s.buf = buf;
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

View Planner::fresh(llvm::ArrayRef<Sym> dims, bool isInt) {
  View v;
  v.isInt = isInt;
  v.dims.assign(dims.begin(), dims.end());
  v.strides = contiguousStrides(dims);
  v.storage = newStorage(Buf::Arena, S().upper(numel(dims)) * 4);
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
  if (isContiguous(v))
    return v;
  View out = fresh(v.dims, v.isInt);
  copy(v, out);
  return out;
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

View Planner::weightView(const WeightEntry &placed,
                         llvm::ArrayRef<int64_t> shape) {
  View v;
  v.offset = placed.offset / 4;
  for (int64_t d : shape)
    v.dims.push_back(Sym::c(d));
  v.strides = contiguousStrides(v.dims);
  return v;
}

FailureOr<View> Planner::view(Value tensor) {
  auto it = views.find(tensor);
  if (it != views.end())
    return it->second;
  auto w = tensor.getDefiningOp<WeightOp>();
  if (!w) {
    if (Operation *op = tensor.getDefiningOp())
      return op->emitOpError("result used before the Vulkan backend planned "
                             "it");
    return failure();
  }
  const WeightEntry &placed = weights.add(weightEntryFor(w));
  View v = weightView(placed, placed.shape);
  views[tensor] = v;
  return v;
}

View Planner::weightPanels(WeightOp op, bool kn, int64_t nr) {
  const WeightEntry &placed = weights.addGemmPanels(op, kn, nr);
  return weightView(placed, placed.panelShape());
}

View Planner::sinusoidTable(int64_t d, int64_t rows, double base) {
  const WeightEntry &placed = weights.addSinusoidal(rows, d, base);
  return weightView(placed, placed.shape);
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

void Planner::dispatch(KernelWriter &w, Sym gx, Sym gy, Sym gz,
                       llvm::ArrayRef<View> reads,
                       llvm::ArrayRef<View> writes) {
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
  for (const View &v : reads)
    if (v.storage >= 0)
      d.reads.push_back(v.storage);
  for (const View &v : writes)
    if (v.storage >= 0)
      d.writes.push_back(v.storage);
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
      b << "    int c" << d << " = r % " << out.dims[d].glsl() << "; r /= "
        << out.dims[d].glsl() << ";\n";
    }
  }
  llvm::SmallVector<std::string, 4> vals;
  for (auto [k, in] : llvm::enumerate(ins)) {
    std::string name = "x" + std::to_string(k);
    b << "    " << (in.isInt ? "int " : "float ") << name << " = "
      << w.at(in, KernelWriter::linear(in, coords)) << ";\n";
    vals.push_back(name);
  }
  std::string result;
  // The body's statements are indented by the caller's convention.
  if (failed(body(w, vals, coords, result)))
    return failure();
  b << "    " << w.at(out, KernelWriter::linear(out, coords)) << " = "
    << result << ";\n";
  b << "  }\n";
  dispatch(w, groupsFor(n, wg), Sym::c(1), Sym::c(1), ins, {out});
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
  origin = op.getName().getStringRef().str();
  std::string where = locationString(op.getLoc());
  if (!where.empty())
    origin += " at " + where;
  return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
      .Case<WeightOp>([](auto) { return success(); }) // viewed on first use
      .Case<LinearOp, MatmulOp>([&](Operation *o) { return genGemm(o); })
      .Case<AttentionOp>([&](AttentionOp a) { return genAttention(a); })
      .Case<SoftmaxOp, LayerNormOp, RMSNormOp, AddLayerNormOp, AddRMSNormOp>(
          [&](Operation *o) { return genRows(o); })
      .Case<ReduceMaxOp, ReduceSumOp, ReduceMeanOp>(
          [&](Operation *o) { return genReduce(o); })
      .Case<ReshapeOp, TransposeOp, SliceOp, ConcatOp, CacheWriteOp>(
          [&](Operation *o) { return genShapeOp(o); })
      .Case<EmbeddingOp>([&](EmbeddingOp e) {
        return genGather(e, e.getTable(), e.getIds(), 0);
      })
      .Case<GatherOp>([&](GatherOp g) {
        return genGather(g, g.getInput(), g.getIndices(), g.getAxis());
      })
      .Case<ConstantOp, PositionalEncodingOp, CausalMaskOp, PaddingMaskOp,
            RangeOp>([&](Operation *o) { return genMisc(o); })
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
            arith::DivUIOp, arith::CeilDivSIOp, arith::MinSIOp,
            arith::MaxSIOp>([&](Operation *o) -> LogicalResult {
        if (!o->getResult(0).getType().isIndex())
          return o->emitOpError("on non-index values is not supported by "
                                "the Vulkan backend");
        FailureOr<Sym> a = index(o->getOperand(0)), b = index(o->getOperand(1));
        if (failed(a) || failed(b))
          return failure();
        Sym r = llvm::TypeSwitch<Operation *, Sym>(o)
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
        return o->emitOpError("is not supported by the Vulkan backend");
      });
}

LogicalResult Planner::run(func::FuncOp fn) {
  function = fn;
  entry.name = fn.getName().str();
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("the Vulkan backend needs single-block functions");
  Block &body = fn.getBody().front();
  FunctionType type = fn.getFunctionType();
  // Named dimension bounds.
  llvm::StringMap<int64_t> bounds;
  if (auto b = fn->getAttrOfType<DictionaryAttr>(kDimBoundsAttr))
    for (NamedAttribute a : b)
      bounds[a.getName()] = cast<IntegerAttr>(a.getValue()).getInt();
  // State: arguments a result is tied to.
  llvm::DenseMap<unsigned, unsigned> tiedArgs; // arg -> result
  for (unsigned r = 0; r < type.getNumResults(); ++r)
    if (auto t = fn.getResultAttrOfType<IntegerAttr>(r, kTiedToAttr))
      tiedArgs[t.getInt()] = r;

  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    Value arg = body.getArgument(i);
    if (arg.getType().isIndex()) {
      indices[arg] = S().inputIndex(i, std::max<int64_t>(maxPositions, 1));
      entry.inputs.push_back({"scalar", 0, S().slotOf(indices[arg])});
      continue;
    }
    auto t = dyn_cast<RankedTensorType>(arg.getType());
    if (!t)
      return fn.emitError("entry arguments must be ranked tensors or indices");
    auto names = fn.getArgAttrOfType<ArrayAttr>(i, kDimNamesAttr);
    View v;
    v.isInt = isa<IntegerType>(t.getElementType());
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (!t.isDynamicDim(d)) {
        v.dims.push_back(Sym::c(t.getDimSize(d)));
        continue;
      }
      int64_t max = maxPositions;
      if (names && d < static_cast<int64_t>(names.size())) {
        auto it = bounds.find(cast<StringAttr>(names[d]).getValue());
        if (it != bounds.end())
          max = it->second;
      }
      if (max <= 0)
        return fn.emitError("dynamic dimension ")
               << d << " of argument " << i << " has no bound";
      v.dims.push_back(S().inputDim(i, d, max));
    }
    v.strides = contiguousStrides(v.dims);
    int64_t bytes = S().upper(numel(v.dims)) * 4;
    if (tiedArgs.count(i)) {
      auto name = fn.getArgAttrOfType<StringAttr>(i, kNameAttr);
      std::string key = name ? name.getValue().str() : "state" + std::to_string(i);
      auto [it, fresh] = module.stateOffsets.try_emplace(key, module.stateBytes);
      if (fresh)
        module.stateBytes += (bytes + 255) / 256 * 256;
      v.storage = newStorage(Buf::State, bytes);
      entry.storages[v.storage].offset = it->second;
      entry.inputs.push_back({"state", it->second, -1});
    } else {
      v.storage = newStorage(Buf::Arena, bytes);
      entry.storages[v.storage].pinned = true;
      entry.inputs.push_back({"arena", 0, v.storage});
    }
    views[arg] = v;
  }
  for (Operation &op : body.without_terminator())
    if (failed(planOp(op)))
      return failure();
  return finishEntry(fn);
}

LogicalResult Planner::finishEntry(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  origin = "func.return";
  llvm::DenseSet<int> used;
  for (auto [r, v] : llvm::enumerate(ret.getOperands())) {
    FailureOr<View> produced = view(v);
    if (failed(produced))
      return failure();
    if (auto t = fn.getResultAttrOfType<IntegerAttr>(r, kTiedToAttr)) {
      const View &state = views[body.getArgument(t.getInt())];
      bool same = produced->storage == state.storage &&
                  produced->offset == 0 && produced->dynOffset.isConst(0) &&
                  isContiguous(*produced);
      if (!same)
        copy(*produced, state);
      continue;
    }
    bool reuse = produced->storage >= 0 &&
                 entry.storages[produced->storage].buf == Buf::Arena &&
                 !entry.storages[produced->storage].pinned &&
                 produced->offset == 0 && produced->dynOffset.isConst(0) &&
                 isContiguous(*produced) && !used.count(produced->storage);
    View out = *produced;
    if (!reuse) {
      out = fresh(produced->dims, produced->isInt);
      copy(*produced, out);
    }
    used.insert(out.storage);
    entry.storages[out.storage].pinned = true;
    entry.outputs.push_back({"arena", 0, out.storage});
  }
  planArena();
  placeBarriers();
  return success();
}

//===----------------------------------------------------------------------===//
// Memory and barriers
//===----------------------------------------------------------------------===//

void Planner::planArena() {
  auto &st = entry.storages;
  for (auto [i, d] : llvm::enumerate(entry.dispatches)) {
    for (int s : llvm::concat<int>(d.reads, d.writes)) {
      if (st[s].firstUse < 0)
        st[s].firstUse = i;
      st[s].lastUse = i;
    }
  }
  int n = entry.dispatches.size();
  std::vector<int> order;
  for (int s = 0; s < static_cast<int>(st.size()); ++s) {
    if (st[s].buf != Buf::Arena)
      continue;
    if (st[s].pinned) {
      st[s].firstUse = -1;
      st[s].lastUse = n;
    } else if (st[s].firstUse < 0) {
      continue; // never touched (a view's base that no kernel reads)
    }
    order.push_back(s);
  }
  llvm::sort(order, [&](int a, int b) {
    return std::make_pair(st[a].firstUse, a) < std::make_pair(st[b].firstUse, b);
  });
  // Greedy first fit over live intervals.
  std::vector<int> live;
  int64_t top = 0;
  for (int s : order) {
    llvm::erase_if(live, [&](int o) { return st[o].lastUse < st[s].firstUse; });
    llvm::sort(live, [&](int a, int b) { return st[a].offset < st[b].offset; });
    int64_t bytes = (st[s].bytes + 255) / 256 * 256;
    int64_t at = 0;
    for (int o : live) {
      if (at + bytes <= st[o].offset)
        break;
      at = std::max(at, st[o].offset + (st[o].bytes + 255) / 256 * 256);
    }
    st[s].offset = at;
    top = std::max(top, at + bytes);
    live.push_back(s);
  }
  entry.arenaBytes = std::max<int64_t>(top, 256);
  for (IoBinding &io : llvm::concat<IoBinding>(entry.inputs, entry.outputs))
    if (io.buffer == "arena") {
      io.offset = st[io.slot].offset;
      io.slot = -1;
    }
}

void Planner::placeBarriers() {
  // Every dispatch writes the arena, and nearly every one reads what the
  // previous one wrote. Disjoint byte ranges of one buffer could skip the
  // barrier, but Vulkan's synchronization validation tracks a storage
  // buffer descriptor as a whole, so it would flag those; one global memory
  // barrier between consecutive dispatches is what the validated plan uses.
  for (size_t i = 1; i < entry.dispatches.size(); ++i)
    entry.dispatches[i].barrier = true;
}
