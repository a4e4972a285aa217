//===- PlanTarget.cpp - the scratch memory of the CPU kernels -------------===//
//
// Part of tfmc. What the plan reserves for a CPU kernel while it runs: the
// run-time GEMM panels of an activation right operand (tfm.matmul, a
// tfm.linear whose weight is computed) and the dense copy of an epilogue
// input that broadcasts in a way the GEMM write-back cannot index, and the
// partial sums of a gated GEMM whose K is split into blocks (both halves of
// every panel: [M, panels * 2 NR]; a plain GEMM keeps them in C).
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/CpuTarget.h"

using namespace mlir;
using namespace mlir::tfm;

/// Bytes of [ceil(N / nr), K, nr] panels of `elt`.
static int64_t panelBytes(int64_t n, int64_t k, int64_t nr, Type elt) {
  return (n + nr - 1) / nr * k * nr * elementBytes(elt);
}

/// True when the GEMM write-back reads epilogue input `in` as it is (the
/// full [M, N] shape, a scalar, one value per column or per row).
static bool epilogueReadsDirectly(ArrayRef<int64_t> s, ArrayRef<int64_t> out) {
  auto allOnes = [](ArrayRef<int64_t> d) {
    return llvm::all_of(d, [](int64_t x) { return x == 1; });
  };
  if (s == out || allOnes(s))
    return true;
  if (!s.empty() && s.back() == out.back() && allOnes(s.drop_back()))
    return true;
  return s.size() == out.size() && s.back() == 1 &&
         s.drop_back() == out.drop_back();
}

MoEScratch mlir::tfm::moeScratch(int64_t experts, int64_t topK, int64_t d,
                                 int64_t f, int64_t elementBytes,
                                 int64_t rowsBound,
                                 const CpuKernelParams &params) {
  MoEScratch s;
  s.fixed = (4 * (2 * experts + 1) + 63) / 64 * 64;
  s.permRow = 4 * topK;
  s.weightRow = elementBytes * topK;
  s.hiddenRow = elementBytes * f;
  s.splitGate = gemmSplitsK(d, params.gemmKC, rowsBound);
  s.splitDown = gemmSplitsK(f, params.gemmKC, rowsBound);
  if (s.splitDown)
    s.downPartialRow = elementBytes * d;
  if (s.splitGate)
    s.gatePartialRow = elementBytes * gatedPartialColumns(f, params.gemmNR);
  return s;
}

int64_t mlir::tfm::cpuScratchBytes(Operation *op, ShapeBounds &bounds,
                                   const CpuKernelParams &params) {
  int64_t nr = params.gemmNR;
  if (auto moe = dyn_cast<MoEOp>(op)) {
    FailureOr<ArrayRef<int64_t>> out = bounds.shape(moe.getResult());
    if (failed(out))
      return 0;
    int64_t rows = 1, staticRows = 1;
    for (auto [i, d] : llvm::enumerate(out->drop_back())) {
      rows *= d;
      staticRows = moe.getType().isDynamicDim(i) || staticRows < 0
                       ? -1
                       : staticRows * d;
    }
    return moeScratch(moe.getNumExperts(), moe.getTopK(), out->back(),
                      moe.getExpertFeatures(),
                      elementBytes(moe.getType().getElementType()), staticRows,
                      params)
        .bytes(rows);
  }
  if (auto m = dyn_cast<MatmulOp>(op)) {
    FailureOr<ArrayRef<int64_t>> rhs = bounds.shape(m.getRhs());
    FailureOr<ArrayRef<int64_t>> out = bounds.shape(m.getResult());
    if (failed(rhs) || failed(out))
      return 0;
    int64_t r = rhs->size();
    int64_t k = (*rhs)[m.getTransposeRhs() ? r - 1 : r - 2];
    int64_t n = (*rhs)[m.getTransposeRhs() ? r - 2 : r - 1];
    int64_t batch = 1;
    for (int64_t d : out->drop_back(2))
      batch *= d;
    return batch * panelBytes(n, k, nr, m.getType().getElementType());
  }
  auto lin = dyn_cast<LinearOp>(op);
  if (!lin)
    return 0;
  int64_t total = 0;
  if (!storedWeight(lin.getWeight())) {
    ArrayRef<int64_t> w = lin.getWeight().getType().getShape();
    bool kn = lin.getWeightKn();
    total += panelBytes(kn ? w[1] : w[0], kn ? w[0] : w[1], nr,
                        lin.getWeight().getType().getElementType());
    total = (total + 63) / 64 * 64;
  }
  ArrayRef<int64_t> outShape = lin.getType().getShape();
  for (Value in : lin.getEpilogueInputs()) {
    auto t = cast<RankedTensorType>(in.getType());
    if (epilogueReadsDirectly(t.getShape(), outShape))
      continue;
    FailureOr<int64_t> bytes = bounds.bytes(lin.getResult());
    if (succeeded(bytes))
      total += (*bytes / elementBytes(lin.getType().getElementType()) *
                    elementBytes(t.getElementType()) +
                63) /
               64 * 64;
  }
  int64_t k = lin.getWeight().getType().getDimSize(lin.getWeightKn() ? 0 : 1);
  int64_t rows = 1;
  for (int64_t d : lin.getType().getShape().drop_back())
    rows = ShapedType::isDynamic(d) || rows < 0 ? -1 : rows * d;
  if (lin.getGated() && gemmSplitsK(k, params.gemmKC, rows)) {
    // Last: with a dynamic M it takes the rest of the reservation.
    int64_t h = lin.getNumOutputFeatures();
    FailureOr<int64_t> bytes = bounds.bytes(lin.getResult());
    if (succeeded(bytes)) {
      int64_t bound =
          *bytes / (h * elementBytes(lin.getType().getElementType()));
      total += bound * gatedPartialColumns(h, nr) *
               elementBytes(lin.getType().getElementType());
    }
  }
  return total;
}
