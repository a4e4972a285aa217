//===- KernelsRows.cpp - softmax and (residual +) norms, a row per group --===//
//
// Part of tfmc. One workgroup per row (grid-stride over rows), reductions
// through shared memory. Norms use two passes over the row (mean, then the
// squared deviations) like the CPU backend, so the variance does not suffer
// the cancellation of E[x^2] - E[x]^2.
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

/// GLSL reducing `var` over the workgroup into `var` (all invocations).
static std::string reduce(const std::string &var, const std::string &op,
                          unsigned threads) {
  std::string combine = op == "max" ? "red[t] = max(red[t], red[t + st]);"
                                    : "red[t] += red[t + st];";
  return "    red[t] = " + var +
         ";\n    barrier();\n    for (int st = " + std::to_string(threads / 2) +
         "; st > 0; st >>= 1) {\n      if (t < st) " + combine +
         "\n      barrier();\n    }\n    " + var +
         " = red[0];\n    barrier();\n";
}

LogicalResult Planner::genRows(Operation *op) {
  FailureOr<View> inV = view(op->getOperand(0));
  if (failed(inV))
    return failure();
  View in = contiguous(*inV);
  int64_t axis = op->getAttrOfType<IntegerAttr>("axis").getInt();
  // A row is dims [axis, rank) of the contiguous input (norms); softmax
  // normalises one dim, whose elements are `inner` apart.
  Sym rows, n, inner = Sym::c(1);
  if (isa<SoftmaxOp>(op)) {
    n = in.dims[axis];
    inner = numel(llvm::ArrayRef<Sym>(in.dims).drop_front(axis + 1));
    rows = S().div(numel(in.dims), n);
  } else {
    rows = numel(llvm::ArrayRef<Sym>(in.dims).take_front(axis));
    n = numel(llvm::ArrayRef<Sym>(in.dims).drop_front(axis));
  }
  bool isAdd = isa<AddLayerNormOp, AddRMSNormOp>(op);
  bool isLayer = isa<LayerNormOp, AddLayerNormOp>(op);
  bool isSoftmax = isa<SoftmaxOp>(op);
  View res, out = result(op->getResult(0), in.dims), sum;
  if (isAdd) {
    FailureOr<View> rv = view(op->getOperand(1));
    if (failed(rv))
      return failure();
    res = contiguous(broadcastTo(*rv, in.dims));
    sum = result(op->getResult(1), in.dims);
  }
  // Optional scale and bias over the normalised dims, flattened.
  auto optionalOperand = [&](StringRef name) -> FailureOr<std::optional<View>> {
    Value v;
    llvm::TypeSwitch<Operation *>(op)
        .Case<LayerNormOp, AddLayerNormOp>(
            [&](auto o) { v = name == "scale" ? o.getScale() : o.getBias(); })
        .Case<RMSNormOp, AddRMSNormOp>([&](auto o) {
          if (name == "scale")
            v = o.getScale();
        });
    if (!v)
      return std::optional<View>();
    FailureOr<View> w = view(v);
    if (failed(w))
      return failure();
    return std::optional<View>(contiguous(*w));
  };
  FailureOr<std::optional<View>> scale = optionalOperand("scale"),
                                 bias = optionalOperand("bias");
  if (failed(scale) || failed(bias))
    return failure();
  double eps = isSoftmax
                   ? 0.0
                   : op->getAttrOfType<FloatAttr>("epsilon").getValueAsDouble();

  unsigned T = target.rowThreads;
  KernelWriter w(entry, op->getName().stripDialect().str(), T);
  std::ostream &b = w.body;
  w.helpers += "shared float red[" + std::to_string(T) + "];\n";
  b << "  int t = int(gl_LocalInvocationID.x);\n"
    << "  int rows = " << rows.glsl() << ", n = " << n.glsl() << ";\n"
    << "  for (int row = int(gl_WorkGroupID.x); row < rows; row += "
       "int(gl_NumWorkGroups.x)) {\n"
    << "    int inner = " << inner.glsl() << ";\n"
    << "    int r0 = (row / inner) * n * inner + row % inner;\n";
  // Element i of the row.
  std::string el = inner.isConst(1) ? "r0 + i" : "r0 + i * inner";
  std::string x = w.at(in, el);
  if (isAdd) {
    // The residual sum is written once and read back by the same
    // invocation (same i), so no barrier is needed between the passes.
    b << "    for (int i = t; i < n; i += " << T << ") " << w.at(sum, el)
      << " = " << x << " + " << w.at(res, el) << ";\n";
    x = w.at(sum, el);
  }
  auto affine = [&](const std::string &y) {
    std::string r = y;
    if (*scale)
      r = "(" + r + " * " + w.load(**scale, "i") + ")";
    if (*bias)
      r = "(" + r + " + " + w.load(**bias, "i") + ")";
    return r;
  };
  std::string y = w.at(out, el);
  if (isSoftmax) {
    b << "    float mx = uintBitsToFloat(0xff800000u);\n"
      << "    for (int i = t; i < n; i += " << T << ") mx = max(mx, " << x
      << ");\n"
      << reduce("mx", "max", T) << "    float s = 0.0;\n"
      << "    for (int i = t; i < n; i += " << T << ") s += exp(" << x
      << " - mx);\n"
      << reduce("s", "sum", T) << "    for (int i = t; i < n; i += " << T
      << ") " << y << " = exp(" << x << " - mx) / s;\n";
  } else if (isLayer) {
    b << "    float mean = 0.0;\n"
      << "    for (int i = t; i < n; i += " << T << ") mean += " << x << ";\n"
      << reduce("mean", "sum", T) << "    mean /= float(n);\n"
      << "    float var = 0.0;\n"
      << "    for (int i = t; i < n; i += " << T << ") { float dx = " << x
      << " - mean; var = fma(dx, dx, var); }\n"
      << reduce("var", "sum", T)
      << "    float rstd = 1.0 / sqrt(var / float(n) + " << floatLiteral(eps)
      << ");\n"
      << "    for (int i = t; i < n; i += " << T << ") " << y << " = "
      << affine("((" + x + " - mean) * rstd)") << ";\n";
  } else {
    b << "    float ss = 0.0;\n"
      << "    for (int i = t; i < n; i += " << T << ") { float v = " << x
      << "; ss = fma(v, v, ss); }\n"
      << reduce("ss", "sum", T) << "    float rr = 1.0 / sqrt(ss / float(n) + "
      << floatLiteral(eps) << ");\n"
      << "    for (int i = t; i < n; i += " << T << ") " << y << " = "
      << affine("(" + x + " * rr)") << ";\n";
  }
  b << "  }\n";
  dispatch(w, S().min(rows, Sym::c(target.maxGroupCount)), Sym::c(1),
           Sym::c(1));
  bind(op->getResult(0), out);
  if (isAdd)
    bind(op->getResult(1), sum);
  return success();
}
