//===- KernelsMoE.cpp - mixture-of-experts routing and expert products ----===//
//
// Part of tfmc. tfm.moe_gate: one invocation per row computes the softmax
// over the experts, picks the top_k in (value desc, index asc) order and
// writes the dense routing weights (renormalised for topk_softmax) -- the
// order and arithmetic of the CPU kernel (TfmToCPU/MoE.cpp).
//
// tfm.moe reads only the selected experts, in three dispatches:
//
//  1. routing (one invocation; O(rows * experts) scalar work): per expert
//     the slots of the rows that selected it (a row's first top_k non-zero
//     weights), grouped expert by expert with their tokens in order; per
//     slot its token, expert and weight; per token its slots in expert
//     order (-1 past the last);
//  2. per (slot, feature): the gate and up dot products from the slot's
//     expert panels (gated_panels, [E][F/BN][D][2*BN]), act(gate) * up into
//     the hidden buffer -- neighbouring invocations read neighbouring
//     weights;
//  3. per (token, feature of the output): the token's selected experts in
//     increasing order, each a dot product of its hidden row with the
//     expert's down panels ([E][D/BN][F][BN]), scaled by the routing weight
//     and added to a zero start: the summation order of Hugging Face's
//     Mixtral (index_add_ per expert).
//
//===----------------------------------------------------------------------===//

#include "Planner.h"

#include "tfm/IR/ScalarUtils.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::vk;

namespace {

/// The grid-stride loop header over `n` items (`i` the item), as the
/// pointwise kernels write it.
void gridLoop(std::ostream &b, const Sym &n, unsigned threads) {
  b << "  int n = " << n.glsl() << ";\n"
    << "  for (int i = int(gl_GlobalInvocationID.x); i < n; i += "
       "int(gl_NumWorkGroups.x) * "
    << threads << ") {\n";
}

/// Rows of a [..., cols] view (all dims but the last).
Sym rowsOf(Planner &p, const View &v) {
  return p.numel(llvm::ArrayRef<Sym>(v.dims).drop_back());
}

LogicalResult genGate(Planner &p, MoEGateOp op) {
  if (!op.getType().getElementType().isF32())
    return op.emitOpError("runs on f32 router logits on Vulkan, not ")
           << op.getType().getElementType();
  FailureOr<View> inV = p.view(op.getInput());
  if (failed(inV))
    return failure();
  View in = p.contiguous(*inV);
  View out = p.result(op.getResult(), in.dims);
  int64_t experts = op.getType().getShape().back(), topK = op.getTopK();
  std::string E = std::to_string(experts);
  unsigned T = p.target.pointThreads;
  KernelWriter w(p.entry, "moe_gate", T);
  std::ostream &b = w.body;
  Sym rows = rowsOf(p, in);
  gridLoop(b, rows, T);
  // Softmax as PyTorch computes it: exp(x - max) * (1 / sum).
  b << "    int row = i * " << E << ";\n"
    << "    float mx = " << w.load(in, "row") << ";\n"
    << "    for (int e = 1; e < " << E << "; ++e) mx = max(mx, "
    << w.load(in, "row + e") << ");\n"
    << "    float sum = 0.0;\n"
    << "    for (int e = 0; e < " << E << "; ++e) {\n"
    << "      float ex = exp(" << w.load(in, "row + e") << " - mx);\n"
    << "      " << w.at(out, "row + e") << " = ex;\n"
    << "      sum += ex;\n"
    << "    }\n"
    << "    float inv = 1.0 / sum;\n"
    << "    for (int e = 0; e < " << E << "; ++e) " << w.at(out, "row + e")
    << " *= inv;\n"
    // The top_k in (value desc, index asc) order, summed in that order.
    << "    float lastV = 0.0, total = 0.0;\n"
    << "    int lastI = 0;\n"
    << "    for (int r = 0; r < " << topK << "; ++r) {\n"
    << "      float bv = -1.0;\n"
    << "      int bi = 0;\n"
    << "      for (int e = 0; e < " << E << "; ++e) {\n"
    << "        float q = " << w.at(out, "row + e") << ";\n"
    << "        bool after = r == 0 || q < lastV || (q == lastV && e > "
       "lastI);\n"
    << "        if (after && q > bv) { bv = q; bi = e; }\n"
    << "      }\n"
    << "      lastV = bv;\n"
    << "      lastI = bi;\n"
    << "      total += bv;\n"
    << "    }\n"
    << "    for (int e = 0; e < " << E << "; ++e) {\n"
    << "      float q = " << w.at(out, "row + e") << ";\n"
    << "      bool sel = q > lastV || (q == lastV && e <= lastI);\n"
    << "      " << w.at(out, "row + e") << " = sel ? "
    << (op.getRouting() == Routing::topk_softmax ? "q / total" : "q")
    << " : 0.0;\n"
    << "    }\n"
    << "  }\n";
  p.dispatch(w, p.groupsFor(rows, T), Sym::c(1), Sym::c(1));
  p.bind(op.getResult(), out);
  return success();
}

LogicalResult genExperts(Planner &p, MoEOp op) {
  Type elt = op.getType().getElementType();
  if (!elt.isF32())
    return op.emitOpError("runs on f32 activations on Vulkan (weights may "
                          "be narrower), not ")
           << elt;
  WeightOp gateUpW = storedWeight(op.getGateUp());
  WeightOp downW = storedWeight(op.getDown());
  if (!gateUpW || !downW)
    return op.emitOpError("needs stored expert weights (their panels are "
                          "packed at compile time)");
  unsigned BN = p.target.gemmBN;
  FailureOr<View> xV = p.view(op.getInput()), gV = p.view(op.getGate());
  FailureOr<View> guV =
      p.weightPanels(gateUpW, false, 2 * BN, WeightLayout::gated_panels);
  FailureOr<View> dnV = p.weightPanels(downW, false, BN);
  if (failed(xV) || failed(gV) || failed(guV) || failed(dnV))
    return failure();
  View x = p.contiguous(*xV), gate = p.contiguous(*gV);
  View gateUp = *guV, down = *dnV;
  int64_t experts = op.getNumExperts(), topK = op.getTopK();
  int64_t d = op.getType().getShape().back(), f = op.getExpertFeatures();
  std::string E = std::to_string(experts), K = std::to_string(topK),
              D = std::to_string(d), Fs = std::to_string(f),
              BNs = std::to_string(BN), PW = std::to_string(2 * BN);
  // Panels per expert: gate/up [ceil(F/BN)][D][2*BN], down
  // [ceil(D/BN)][F][BN].
  std::string guExpert = std::to_string((f + BN - 1) / BN * d * 2 * BN);
  std::string dnExpert = std::to_string((d + BN - 1) / BN * f * BN);
  Sym rows = rowsOf(p, x);
  Sym slots = p.S().mul(rows, Sym::c(topK));
  View out = p.result(op.getResult(), x.dims);

  // Scratch (vulkanScratchBytes): routing tables and the hidden rows.
  View offsets = p.scratch({Sym::c(experts + 1)}, Elem::I32);
  View cursor = p.scratch({Sym::c(experts)}, Elem::I32);
  View token = p.scratch({slots}, Elem::I32);
  View expert = p.scratch({slots}, Elem::I32);
  View weight = p.scratch({slots}, Elem::F32);
  View tokenSlots = p.scratch({slots}, Elem::I32);
  View hidden = p.scratch({slots, Sym::c(f)}, Elem::F32);
  if (p.hadError)
    return failure();

  // 1. Routing.
  {
    KernelWriter w(p.entry, "moe_route", 1);
    std::ostream &b = w.body;
    std::string sel = "wt != 0.0 && n < " + K;
    b << "  int rows = " << rows.glsl() << ";\n"
      << "  for (int e = 0; e <= " << E << "; ++e) " << w.at(offsets, "e")
      << " = 0;\n"
      << "  for (int t = 0; t < rows; ++t) {\n"
      << "    int n = 0;\n"
      << "    for (int e = 0; e < " << E << "; ++e) {\n"
      << "      float wt = " << w.load(gate, "t * " + E + " + e") << ";\n"
      << "      if (" << sel << ") { " << w.at(offsets, "e + 1")
      << " += 1; ++n; }\n"
      << "    }\n"
      << "  }\n"
      << "  for (int e = 0; e < " << E << "; ++e) {\n"
      << "    " << w.at(offsets, "e + 1") << " += " << w.at(offsets, "e")
      << ";\n"
      << "    " << w.at(cursor, "e") << " = " << w.at(offsets, "e") << ";\n"
      << "  }\n"
      << "  for (int t = 0; t < rows; ++t) {\n"
      << "    int n = 0;\n"
      << "    for (int e = 0; e < " << E << "; ++e) {\n"
      << "      float wt = " << w.load(gate, "t * " + E + " + e") << ";\n"
      << "      if (" << sel << ") {\n"
      << "        int s = " << w.at(cursor, "e") << ";\n"
      << "        " << w.at(cursor, "e") << " = s + 1;\n"
      << "        " << w.at(token, "s") << " = t;\n"
      << "        " << w.at(expert, "s") << " = e;\n"
      << "        " << w.at(weight, "s") << " = wt;\n"
      << "        " << w.at(tokenSlots, "t * " + K + " + n") << " = s;\n"
      << "        ++n;\n"
      << "      }\n"
      << "    }\n"
      << "    for (; n < " << K << "; ++n) "
      << w.at(tokenSlots, "t * " + K + " + n") << " = -1;\n"
      << "  }\n";
    p.dispatch(w, Sym::c(1), Sym::c(1), Sym::c(1));
  }

  unsigned T = p.target.pointThreads;
  // 2. hidden[s, j] = act(x[t] . gate_e[j]) * (x[t] . up_e[j]).
  {
    // The activation, built into a block of its own and printed as GLSL.
    Block scalar;
    Value arg = scalar.addArgument(elt, op.getLoc());
    OpBuilder ob(op.getContext());
    ob.setInsertionPointToEnd(&scalar);
    Value act = buildActivation(ob, op.getLoc(), arg, op.getActivation());
    KernelWriter w(p.entry, "moe_gate_up", T);
    std::ostream &b = w.body;
    gridLoop(b, p.S().mul(slots, Sym::c(f)), T);
    b << "    int s = i / " << Fs << ", j = i % " << Fs << ";\n"
      << "    if (s >= " << w.at(offsets, E) << ") break;\n"
      << "    int t = " << w.at(token, "s") << ", e = " << w.at(expert, "s")
      << ";\n"
      << "    int col = " << w.base(gateUp) << " + e * " << guExpert
      << " + (j / " << BNs << ") * " << D << " * " << PW << " + j % " << BNs
      << ";\n"
      << "    float g = 0.0, u = 0.0;\n"
      << "    for (int k = 0; k < " << D << "; ++k) {\n"
      << "      float a = " << w.load(x, "t * " + D + " + k") << ";\n"
      << "      g = fma(a, " << w.loadAt(gateUp, "col + k * " + PW) << ", g);\n"
      << "      u = fma(a, "
      << w.loadAt(gateUp, "col + k * " + PW + " + " + BNs) << ", u);\n"
      << "    }\n";
    ScalarPrinter printer(w, "e");
    printer.bind(arg, "g");
    std::string a;
    LogicalResult ok = printer.printUpTo(scalar, act, a, "    ");
    while (!scalar.empty())
      scalar.back().erase();
    if (failed(ok))
      return failure();
    b << "    " << w.at(hidden, "s * " + Fs + " + j") << " = " << a << " * u;\n"
      << "  }\n";
    p.dispatch(w, p.groupsFor(p.S().mul(slots, Sym::c(f)), T), Sym::c(1),
               Sym::c(1));
  }

  // 3. out[t, c] = sum over the token's experts of w * (hidden[s] . down_e[c]).
  {
    KernelWriter w(p.entry, "moe_down", T);
    std::ostream &b = w.body;
    gridLoop(b, p.S().mul(rows, Sym::c(d)), T);
    b << "    int t = i / " << D << ", c = i % " << D << ";\n"
      << "    float acc = 0.0;\n"
      << "    for (int r = 0; r < " << K << "; ++r) {\n"
      << "      int s = " << w.at(tokenSlots, "t * " + K + " + r") << ";\n"
      << "      if (s < 0) break;\n"
      << "      int col = " << w.base(down) << " + " << w.at(expert, "s")
      << " * " << dnExpert << " + (c / " << BNs << ") * " << Fs << " * " << BNs
      << " + c % " << BNs << ";\n"
      << "      float y = 0.0;\n"
      << "      for (int j = 0; j < " << Fs << "; ++j)\n"
      << "        y = fma(" << w.at(hidden, "s * " + Fs + " + j") << ", "
      << w.loadAt(down, "col + j * " + BNs) << ", y);\n"
      << "      acc += y * " << w.at(weight, "s") << ";\n"
      << "    }\n"
      << "    " << w.store(out, "i", "acc") << "\n"
      << "  }\n";
    p.dispatch(w, p.groupsFor(p.S().mul(rows, Sym::c(d)), T), Sym::c(1),
               Sym::c(1));
  }
  p.bind(op.getResult(), out);
  return success();
}

} // namespace

LogicalResult Planner::genMoE(Operation *op) {
  if (auto g = dyn_cast<MoEGateOp>(op))
    return genGate(*this, g);
  return genExperts(*this, cast<MoEOp>(op));
}

int64_t mlir::tfm::vk::moeScratchBytes(Operation *op, ShapeBounds &bounds) {
  auto moe = dyn_cast<MoEOp>(op);
  if (!moe)
    return 0;
  FailureOr<ArrayRef<int64_t>> shape = bounds.shape(moe.getInput());
  if (failed(shape))
    return 0;
  int64_t rows = 1;
  for (int64_t s : shape->drop_back())
    rows *= s;
  int64_t slots = rows * moe.getTopK(), experts = moe.getNumExperts();
  // The pieces genExperts takes, each rounded to 256 bytes (Planner::scratch).
  auto piece = [](int64_t bytes) { return (bytes + 255) / 256 * 256; };
  return piece(4 * (experts + 1)) + piece(4 * experts) + 4 * piece(4 * slots) +
         piece(4 * slots * moe.getExpertFeatures());
}
