//===- KernelsPointwise.cpp - elementwise, shape, gather, mask kernels ----===//
//
// Part of tfmc. Every kernel here computes output elements independently:
// one invocation per element (grid-stride), operands read through views, so
// broadcasting, slices and transposes are folded into the addressing.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

#include "tfm/IR/ScalarUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

/// Result dims of a NumPy-broadcasting op: static from the type, dynamic
/// from the operand that has that dimension.
static llvm::SmallVector<Sym, 4> broadcastDims(Value result,
                                               llvm::ArrayRef<View> ins) {
  auto t = cast<RankedTensorType>(result.getType());
  llvm::SmallVector<Sym, 4> dims;
  int64_t rank = t.getRank();
  for (int64_t d = 0; d < rank; ++d) {
    if (!t.isDynamicDim(d)) {
      dims.push_back(Sym::c(t.getDimSize(d)));
      continue;
    }
    Sym found = Sym::c(1);
    for (const View &v : ins) {
      int64_t vd = d - (rank - v.rank());
      if (vd >= 0 && !v.dims[vd].isConst(1)) {
        found = v.dims[vd];
        break;
      }
    }
    dims.push_back(found);
  }
  return dims;
}

LogicalResult Planner::genElementwise(Operation *op) {
  auto iface = cast<ScalarComputeOpInterface>(op);
  llvm::SmallVector<View> ins;
  for (Value v : op->getOperands()) {
    FailureOr<View> in = view(v);
    if (failed(in))
      return failure();
    ins.push_back(*in);
  }
  llvm::SmallVector<Sym, 4> dims = broadcastDims(op->getResult(0), ins);
  for (View &v : ins)
    v = broadcastTo(v, dims);
  View out = result(op->getResult(0), dims);
  // The op's per-element computation, built into a block of its own (one
  // argument per operand element, in the operand's element type) and
  // printed as GLSL.
  Block scratch;
  for (Value v : op->getOperands())
    scratch.addArgument(cast<RankedTensorType>(v.getType()).getElementType(),
                        op->getLoc());
  OpBuilder b(op->getContext());
  b.setInsertionPointToEnd(&scratch);
  llvm::SmallVector<Value> args(scratch.getArguments().begin(),
                                scratch.getArguments().end());
  Value r = iface.buildScalarComputation(b, op->getLoc(), args);
  LogicalResult ok = pointwise(
      out, ins,
      [&](KernelWriter &w, llvm::ArrayRef<std::string> in,
          llvm::ArrayRef<std::string>, std::string &result) -> LogicalResult {
        ScalarPrinter p(w);
        for (auto [i, a] : llvm::enumerate(scratch.getArguments()))
          p.bind(a, in[i]);
        if (isa<BlockArgument>(r)) {
          result = in[cast<BlockArgument>(r).getArgNumber()];
          return success();
        }
        return p.printUpTo(scratch, r, result, "    ");
      },
      op->getName().stripDialect().str());
  while (!scratch.empty())
    scratch.back().erase();
  if (failed(ok))
    return failure();
  bind(op->getResult(0), out);
  return success();
}

LogicalResult Planner::genReduce(Operation *op) {
  FailureOr<View> inV = view(op->getOperand(0));
  if (failed(inV))
    return failure();
  View in = *inV;
  ArrayRef<int64_t> axes = op->getAttrOfType<DenseI64ArrayAttr>("axes");
  bool keep = op->hasAttr("keep_dims");
  llvm::SmallVector<Sym, 4> outDims, keptDims;
  llvm::SmallVector<int64_t> reduced, kept;
  for (int64_t d = 0; d < in.rank(); ++d) {
    if (llvm::is_contained(axes, d)) {
      reduced.push_back(d);
      if (keep)
        outDims.push_back(Sym::c(1));
    } else {
      kept.push_back(d);
      outDims.push_back(in.dims[d]);
    }
  }
  View out = result(op->getResult(0), outDims);
  unsigned wg = target.pointThreads;
  KernelWriter w(entry, op->getName().stripDialect().str(), wg);
  std::ostream &b = w.body;
  Sym n = numel(outDims);
  b << "  int n = " << n.glsl() << ";\n";
  b << "  for (int i = int(gl_GlobalInvocationID.x); i < n; i += "
       "int(gl_NumWorkGroups.x) * "
    << wg << ") {\n    int r = i;\n";
  std::string base = "0";
  for (size_t k = kept.size(); k-- > 0;) {
    int64_t d = kept[k];
    b << "    int k" << k << " = r % " << in.dims[d].glsl()
      << "; r /= " << in.dims[d].glsl() << ";\n";
    base += " + k" + std::to_string(k) + " * " + in.strides[d].glsl();
  }
  Sym count = Sym::c(1);
  for (int64_t d : reduced)
    count = S().mul(count, in.dims[d]);
  bool isMax = isa<ReduceMaxOp>(op);
  b << "    float acc = " << (isMax ? "uintBitsToFloat(0xff800000u)" : "0.0")
    << ";\n";
  b << "    for (int j = 0; j < " << count.glsl() << "; ++j) {\n"
    << "      int q = j;\n      int at = " << base << ";\n";
  for (size_t k = reduced.size(); k-- > 0;) {
    int64_t d = reduced[k];
    b << "      at += (q % " << in.dims[d].glsl() << ") * "
      << in.strides[d].glsl() << "; q /= " << in.dims[d].glsl() << ";\n";
  }
  b << "      float x = " << w.load(in, "at") << ";\n";
  if (isMax)
    b << "      acc = (isnan(x) || isnan(acc)) ? x + acc : max(acc, x);\n";
  else
    b << "      acc += x;\n";
  b << "    }\n";
  if (isa<ReduceMeanOp>(op))
    b << "    acc /= float(" << count.glsl() << ");\n";
  b << "    " << w.store(out, "i", "acc") << "\n  }\n";
  dispatch(w, groupsFor(n, wg), Sym::c(1), Sym::c(1));
  bind(op->getResult(0), out);
  return success();
}

LogicalResult Planner::genGather(Operation *op, Value input, Value indicesV,
                                 int64_t axis) {
  FailureOr<View> inV = view(input), idxV = view(indicesV);
  if (failed(inV) || failed(idxV))
    return failure();
  const View &in = *inV, &idx = *idxV;
  llvm::SmallVector<Sym, 4> dims;
  for (int64_t d = 0; d < axis; ++d)
    dims.push_back(in.dims[d]);
  for (const Sym &d : idx.dims)
    dims.push_back(d);
  for (int64_t d = axis + 1; d < in.rank(); ++d)
    dims.push_back(in.dims[d]);
  View out = result(op->getResult(0), dims);
  unsigned wg = target.pointThreads;
  KernelWriter w(entry, "gather", wg);
  std::ostream &b = w.body;
  Sym n = numel(dims);
  int64_t rank = dims.size();
  b << "  int n = " << n.glsl() << ";\n";
  b << "  for (int i = int(gl_GlobalInvocationID.x); i < n; i += "
       "int(gl_NumWorkGroups.x) * "
    << wg << ") {\n    int r = i;\n";
  for (int64_t d = rank - 1; d >= 0; --d)
    b << "    int c" << d << " = r % " << dims[d].glsl()
      << "; r /= " << dims[d].glsl() << ";\n";
  std::vector<std::string> idxCoords;
  for (int64_t d = 0; d < idx.rank(); ++d)
    idxCoords.push_back("c" + std::to_string(axis + d));
  b << "    int id = " << w.load(idx, KernelWriter::linear(idx, idxCoords))
    << ";\n";
  std::string at = "id * " + in.strides[axis].glsl();
  for (int64_t d = 0; d < axis; ++d)
    at += " + c" + std::to_string(d) + " * " + in.strides[d].glsl();
  for (int64_t d = axis + 1; d < in.rank(); ++d)
    at += " + c" + std::to_string(d - 1 + idx.rank()) + " * " +
          in.strides[d].glsl();
  b << "    " << w.store(out, "i", w.load(in, at)) << "\n  }\n";
  dispatch(w, groupsFor(n, wg), Sym::c(1), Sym::c(1));
  bind(op->getResult(0), out);
  return success();
}

LogicalResult Planner::genShapeOp(Operation *op) {
  FailureOr<View> inV = view(op->getOperand(0));
  if (failed(inV))
    return failure();
  View in = *inV;
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ReshapeOp>([&](ReshapeOp) -> LogicalResult {
        View c = contiguous(in);
        // Dynamic result dims: matched in order with the input's dynamic
        // dims, or (one of them) the element count over the static ones.
        llvm::SmallVector<Sym, 4> inDyn;
        for (const Sym &d : c.dims)
          if (!d.isConst())
            inDyn.push_back(d);
        int64_t numDyn = resultType.getNumDynamicDims();
        Sym staticProduct = Sym::c(1);
        for (int64_t d : resultType.getShape())
          if (!ShapedType::isDynamic(d))
            staticProduct = S().mul(staticProduct, Sym::c(d));
        View out = c;
        out.dims.clear();
        unsigned k = 0;
        for (int64_t d : resultType.getShape()) {
          if (!ShapedType::isDynamic(d))
            out.dims.push_back(Sym::c(d));
          else if (numDyn == static_cast<int64_t>(inDyn.size()) && numDyn > 1)
            out.dims.push_back(inDyn[k++]);
          else if (numDyn == 1)
            out.dims.push_back(S().div(numel(c.dims), staticProduct));
          else
            return op->emitOpError("reshape with these dynamic dimensions is "
                                   "not supported by the Vulkan backend");
        }
        out.strides = contiguousStrides(out.dims);
        bind(op->getResult(0), out);
        return success();
      })
      .Case<TransposeOp>([&](TransposeOp t) {
        View out = in;
        for (auto [i, p] : llvm::enumerate(t.getPermutation())) {
          out.dims[i] = in.dims[p];
          out.strides[i] = in.strides[p];
        }
        bind(op->getResult(0), out);
        return success();
      })
      .Case<SliceOp>([&](SliceOp s) -> LogicalResult {
        View out = in;
        int64_t axis = s.getAxis();
        out.dims[axis] = Sym::c(s.getEnd() - s.getStart());
        Sym start = Sym::c(s.getStart());
        if (Value off = s.getOffset()) {
          FailureOr<Sym> o = index(off);
          if (failed(o))
            return failure();
          start = S().add(start, *o);
        }
        Sym delta = S().mul(start, in.strides[axis]);
        if (delta.isConst())
          out.offset += delta.value;
        else
          out.dynOffset = S().add(out.dynOffset, delta);
        bind(op->getResult(0), out);
        return success();
      })
      .Case<ConcatOp>([&](ConcatOp c) -> LogicalResult {
        int64_t axis = c.getAxis();
        llvm::SmallVector<View> parts;
        Sym total = Sym::c(0);
        for (Value v : c.getInputs()) {
          FailureOr<View> p = view(v);
          if (failed(p))
            return failure();
          parts.push_back(*p);
          total = S().add(total, p->dims[axis]);
        }
        llvm::SmallVector<Sym, 4> dims = parts[0].dims;
        dims[axis] = total;
        View out = result(op->getResult(0), dims);
        Sym at = Sym::c(0);
        for (const View &p : parts) {
          View dst = out;
          dst.dims[axis] = p.dims[axis];
          Sym delta = S().mul(at, out.strides[axis]);
          if (delta.isConst())
            dst.offset += delta.value;
          else
            dst.dynOffset = delta;
          copy(p, dst);
          at = S().add(at, p.dims[axis]);
        }
        bind(op->getResult(0), out);
        return success();
      })
      .Case<CopyOp>([&](CopyOp c) -> LogicalResult {
        View out = result(c.getResult(), in.dims);
        copy(in, out);
        bind(c.getResult(), out);
        return success();
      })
      .Case<CacheWriteOp>([&](CacheWriteOp cw) -> LogicalResult {
        FailureOr<View> upd = view(cw.getUpdate());
        FailureOr<Sym> off = index(cw.getOffset());
        if (failed(upd) || failed(off))
          return failure();
        // In place (tfm-plan-views copied a cache that is read again).
        View cache = in;
        int64_t axis = cw.getAxis();
        View dst = cache;
        dst.dims[axis] = upd->dims[axis];
        dst.dynOffset =
            S().add(cache.dynOffset, S().mul(*off, cache.strides[axis]));
        copy(*upd, dst);
        bind(op->getResult(0), cache);
        return success();
      })
      .Default([](Operation *o) {
        return o->emitOpError("is not supported by the Vulkan backend");
      });
}

LogicalResult Planner::genMisc(Operation *op) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  // Dynamic sizes given as operands, in order.
  auto dimsFrom =
      [&](ValueRange sizes) -> FailureOr<llvm::SmallVector<Sym, 4>> {
    llvm::SmallVector<Sym, 4> dims;
    unsigned k = 0;
    for (int64_t d : resultType.getShape()) {
      if (!ShapedType::isDynamic(d)) {
        dims.push_back(Sym::c(d));
        continue;
      }
      if (k >= sizes.size())
        return op->emitOpError("has a dynamic size without an operand");
      FailureOr<Sym> s = index(sizes[k++]);
      if (failed(s))
        return failure();
      dims.push_back(*s);
    }
    return dims;
  };
  auto optionalIndex = [&](Value v) -> FailureOr<Sym> {
    return v ? index(v) : FailureOr<Sym>(Sym::c(0));
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ConstantOp>([&](ConstantOp c) -> LogicalResult {
        auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
        if (!dense || !resultType.hasStaticShape())
          return c.emitOpError("needs a static dense value for the Vulkan "
                               "backend");
        bool isInt = isa<IntegerType>(resultType.getElementType());
        View out = result(c.getResult(), dimsOf(c.getResult()));
        std::vector<std::string> values;
        if (isInt)
          for (APInt v : dense.getValues<APInt>())
            values.push_back(std::to_string(v.getSExtValue()));
        else
          for (APFloat v : dense.getValues<APFloat>())
            values.push_back(floatLiteral(v.convertToDouble()));
        if (values.size() > 4096)
          return c.emitOpError("constant of ")
                 << values.size()
                 << " elements is too large to inline in a Vulkan kernel";
        return produce(
            c.getResult(), out, {},
            [&](KernelWriter &w, llvm::ArrayRef<std::string>,
                llvm::ArrayRef<std::string>, std::string &r) {
              if (dense.isSplat()) {
                r = values[0];
                return success();
              }
              std::string type = isInt ? "int" : "float";
              w.helpers += "const " + type + " C[" +
                           std::to_string(values.size()) + "] = " + type +
                           "[](";
              for (size_t i = 0; i < values.size(); ++i)
                w.helpers += (i ? ", " : "") + values[i];
              w.helpers += ");\n";
              r = "C[i]";
              return success();
            },
            "constant");
      })
      .Case<RangeOp>([&](RangeOp r) -> LogicalResult {
        auto dims = dimsFrom(r.getDynamicSizes());
        FailureOr<Sym> off = optionalIndex(r.getOffset());
        if (failed(dims) || failed(off))
          return failure();
        View out = result(r.getResult(), *dims);
        Sym offset = *off;
        return produce(
            r.getResult(), out, {},
            [&](KernelWriter &, llvm::ArrayRef<std::string>,
                llvm::ArrayRef<std::string> c, std::string &res) {
              res = "(" + offset.glsl() + " + " + c[0] + ")";
              return success();
            },
            "range");
      })
      .Case<CausalMaskOp>([&](CausalMaskOp m) -> LogicalResult {
        auto dims = dimsFrom(m.getDynamicSizes());
        FailureOr<Sym> off = optionalIndex(m.getOffset());
        if (failed(dims) || failed(off))
          return failure();
        View out = result(m.getResult(), *dims);
        Sym offset = *off;
        std::string value = floatLiteral(m.getValue().convertToDouble());
        return produce(
            m.getResult(), out, {},
            [&](KernelWriter &, llvm::ArrayRef<std::string>,
                llvm::ArrayRef<std::string> c, std::string &res) {
              size_t r = c.size();
              std::string q = c[r - 2] + " + " + offset.glsl();
              res = "(" + c[r - 1] + " <= " + q;
              if (std::optional<int64_t> w = m.getWindow())
                res +=
                    " && " + c[r - 1] + " > " + q + " - " + std::to_string(*w);
              res += " ? 0.0 : " + value + ")";
              return success();
            },
            "causal_mask");
      })
      .Case<RelativePositionBiasOp>(
          [&](RelativePositionBiasOp r) -> LogicalResult {
            auto dims = dimsFrom(r.getDynamicSizes());
            FailureOr<Sym> off = optionalIndex(r.getOffset());
            FailureOr<View> tableV = view(r.getTable());
            if (failed(dims) || failed(off) || failed(tableV))
              return failure();
            View out = result(r.getResult(), *dims);
            View table = *tableV;
            Sym offset = *off;
            bool bidirectional = r.getBidirectional();
            int64_t buckets = r.getNumBuckets();
            int64_t exact = relativeMaxExact(buckets, bidirectional);
            SmallVector<int64_t> thresholds = relativeBucketThresholds(
                buckets, r.getMaxDistance(), bidirectional);
            return produce(
                r.getResult(), out, {},
                [&](KernelWriter &w, llvm::ArrayRef<std::string>,
                    llvm::ArrayRef<std::string> c, std::string &res) {
                  // rel = key - query; a = |rel| or max(-rel, 0); the
                  // logarithmic buckets by integer thresholds.
                  w.body << "    int rel = " << c[3] << " - (" << c[2]
                         << " + " << offset.glsl() << ");\n"
                         << "    int ra = "
                         << (bidirectional ? "abs(rel)" : "max(-rel, 0)")
                         << ";\n"
                         << "    int rb = " << exact << ";\n";
                  for (int64_t t : thresholds)
                    w.body << "    rb += ra >= " << t << " ? 1 : 0;\n";
                  w.body << "    rb = ra < " << exact << " ? ra : rb;\n";
                  if (bidirectional)
                    w.body << "    rb += rel > 0 ? " << buckets / 2
                           << " : 0;\n";
                  res = w.load(table, KernelWriter::linear(table, {"rb", c[1]}));
                  return success();
                },
                "relative_position_bias");
          })
      .Case<PaddingMaskOp>([&](PaddingMaskOp m) -> LogicalResult {
        FailureOr<View> inV = view(m.getInput());
        if (failed(inV))
          return failure();
        // [B, K] -> [B, 1, 1, K].
        View in = *inV;
        llvm::SmallVector<Sym, 4> dims = {in.dims[0], Sym::c(1), Sym::c(1),
                                          in.dims[1]};
        View src = in;
        src.dims = dims;
        src.strides = {in.strides[0], Sym::c(0), Sym::c(0), in.strides[1]};
        View out = result(m.getResult(), dims);
        std::string value = floatLiteral(m.getValue().convertToDouble());
        bool isInt = isIntElem(in.elt);
        return produce(
            m.getResult(), out, {src},
            [&](KernelWriter &, llvm::ArrayRef<std::string> x,
                llvm::ArrayRef<std::string>, std::string &res) {
              res = "(" + x[0] + (isInt ? " != 0" : " != 0.0") +
                    " ? 0.0 : " + value + ")";
              return success();
            },
            "padding_mask");
      })
      .Case<PositionalEncodingOp>([&](PositionalEncodingOp p) -> LogicalResult {
        auto dims = dimsFrom(p.getDynamicSizes());
        FailureOr<Sym> off = optionalIndex(p.getOffset());
        if (failed(dims) || failed(off))
          return failure();
        int64_t d = resultType.getDimSize(1);
        // A view of the planned table, starting at row `offset`.
        FailureOr<View> planned = generatedTable(WeightLayout::sinusoidal, d,
                                                 p.getBase().convertToDouble());
        if (failed(planned))
          return failure();
        View table = *planned;
        int64_t rows = table.dims[0].value;
        // (The runtime checks offset + length against the KV cache's
        // capacity, which is the table's length.)
        if (S().upper((*dims)[0]) > rows)
          return p.emitOpError("needs ")
                 << S().upper((*dims)[0])
                 << " positions but the planned table has " << rows;
        table.dims[0] = (*dims)[0];
        table.dynOffset = S().mul(*off, Sym::c(d));
        bind(p.getResult(), table);
        return success();
      })
      .Case<RotaryOp>([&](RotaryOp ro) -> LogicalResult {
        FailureOr<View> xV = view(ro.getInput());
        FailureOr<Sym> off = optionalIndex(ro.getOffset());
        int64_t r = ro.getRotaryDims(), half = r / 2;
        FailureOr<View> tableV = generatedTable(WeightLayout::rotary, r,
                                                ro.getBase().convertToDouble(),
                                                ro.getPositionScaling());
        if (failed(xV) || failed(off) || failed(tableV))
          return failure();
        View x = *xV, table = *tableV;
        if (S().upper(x.dims[1]) > table.dims[0].value)
          return ro.emitOpError("needs ")
                 << S().upper(x.dims[1])
                 << " positions but the planned table has "
                 << table.dims[0].value;
        View out = result(ro.getResult(), x.dims);
        Sym offset = *off;
        std::string h = std::to_string(half), rd = std::to_string(r);
        return produce(
            ro.getResult(), out, {x},
            [&](KernelWriter &w, llvm::ArrayRef<std::string> in,
                llvm::ArrayRef<std::string> c, std::string &res) {
              // The partner (rotate-half: j +- R/2; interleaved: j ^ 1) and
              // the table column, clamped into range for the features that
              // pass through.
              if (ro.getInterleaved())
                w.body << "    bool rfirst = (" << c[3] << " & 1) == 0;\n"
                       << "    int ri = min(" << c[3] << " >> 1, " << half - 1
                       << ");\n"
                       << "    int rj = min(rfirst ? " << c[3]
                       << " + 1 : " << c[3] << " - 1, " << x.dims[3].value - 1
                       << ");\n";
              else
                w.body << "    bool rfirst = " << c[3] << " < " << h << ";\n"
                       << "    int ri = " << c[3] << " % " << h << ";\n"
                       << "    int rj = rfirst ? " << c[3] << " + " << h
                       << " : " << c[3] << " - " << h << ";\n";
              w.body << "    int rp = " << c[1] << " + " << offset.glsl()
                     << ";\n"
                     << "    float rc = "
                     << w.load(table, KernelWriter::linear(table, {"rp", "ri"}))
                     << ";\n"
                     << "    float rsn = "
                     << w.load(table,
                               KernelWriter::linear(table, {"rp", "ri + " + h}))
                     << ";\n"
                     << "    float rx = "
                     << w.load(x, KernelWriter::linear(
                                      x, {c[0], c[1], c[2], "rj"}))
                     << ";\n";
              res = "(" + c[3] + " < " + rd + " ? " + in[0] +
                    " * rc + (rfirst ? -rx : rx) * rsn : " + in[0] + ")";
              return success();
            },
            "rotary");
      })
      .Default([](Operation *o) {
        return o->emitOpError("is not supported by the Vulkan backend");
      });
}
