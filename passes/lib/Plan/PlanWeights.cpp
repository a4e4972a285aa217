//===- PlanWeights.cpp - the layout of the weights buffer -----------------===//
//
// Part of tfmc. Each tfm.weight is stored once per layout its readers need,
// in its own element type; generated tables are entries too. The plan is
// the single source the targets view weights through and the artifact
// writer fills weights.bin from.
//
//===----------------------------------------------------------------------===//

#include "tfm/Plan/Plan.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#define DEBUG_TYPE "tfm-plan-weights"

namespace mlir::tfm {
#define GEN_PASS_DEF_PLANWEIGHTSPASS
#include "tfm/Plan/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

static constexpr int64_t kWeightAlignment = 64;

std::string mlir::tfm::generatedTableName(WeightLayout layout, int64_t rows,
                                          int64_t cols, double base) {
  return llvm::formatv("tfm.{0}[{1}x{2},base={3}]",
                       stringifyWeightLayout(layout), rows, cols, base)
      .str();
}

int64_t mlir::tfm::positionTableRows(bool runtimePositions, int64_t length,
                                     int64_t maxPositions) {
  if (runtimePositions)
    return std::max<int64_t>(maxPositions, 0);
  return std::max(length, maxPositions);
}

bool mlir::tfm::readsEmbeddingFromPanels(Value table) {
  WeightOp w = storedWeight(table);
  if (!w || w.getType().getRank() != 2)
    return false;
  bool linear = false;
  for (OpOperand &use : table.getUses()) {
    if (isa<EmbeddingOp>(use.getOwner()) && use.getOperandNumber() == 0)
      continue;
    auto lin = dyn_cast<LinearOp>(use.getOwner());
    if (!lin || lin.getWeight() != table || lin.getWeightKn())
      return false;
    linear = true;
  }
  return linear;
}

namespace {
class WeightPlanBuilder {
public:
  explicit WeightPlanBuilder(MLIRContext *ctx) : ctx(ctx) {}

  void add(StringRef name, RankedTensorType type, WeightLayout layout,
           int64_t panelWidth, bool kn, ArrayRef<StringAttr> parts,
           int64_t concatAxis, FloatAttr base, FloatAttr scaling = {},
           QuantAttr quant = {}) {
    std::string key =
        llvm::formatv("{0}|{1}|{2}|{3}|{4}|{5}", name,
                      stringifyWeightLayout(layout), kn, panelWidth,
                      quant ? quant.getBits() : 0, quant ? quant.getGroup() : 0)
            .str();
    if (!seen.insert(key).second)
      return;
    int64_t bytes =
        WeightEntryAttr::storedBytes(type, layout, panelWidth, kn, quant);
    entries.push_back(WeightEntryAttr::get(
        ctx, StringAttr::get(ctx, name), type, layout, panelWidth, kn, parts,
        concatAxis, base, scaling, quant, size, bytes));
    size +=
        (bytes + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
  }

  void add(WeightOp op, WeightLayout layout, int64_t panelWidth, bool kn) {
    SmallVector<StringAttr> parts;
    int64_t axis = 0;
    if (std::optional<ArrayAttr> p = op.getParts()) {
      for (Attribute a : *p)
        parts.push_back(cast<StringAttr>(a));
      axis = *op.getConcatAxis();
    }
    add(op.getName(), cast<RankedTensorType>(op.getType()), layout,
        layout == WeightLayout::gemm_panels ||
                layout == WeightLayout::gated_panels
            ? panelWidth
            : 0,
        kn, parts, axis, FloatAttr(), FloatAttr(), op.getQuantAttr());
  }

  WeightPlanAttr finish() const {
    return WeightPlanAttr::get(ctx, size, entries);
  }

private:
  MLIRContext *ctx;
  SmallVector<WeightEntryAttr> entries;
  llvm::StringSet<> seen;
  int64_t size = 0;
};

struct PlanWeightsPass final : tfm::impl::PlanWeightsPassBase<PlanWeightsPass> {
  using Base::Base;
  PlanWeightsPass() = default;
  PlanWeightsPass(const PlanOptions &opts) {
    panelWidth = opts.panelWidth;
    embeddingFromPanels = opts.embeddingFromPanels;
    maxPositions = opts.maxPositions;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (panelWidth <= 0) {
      module.emitError("panel-width must be positive");
      return signalPassFailure();
    }
    int64_t rows = maxPositions;
    if (rows <= 0)
      if (ModelAttr model = getModelAttr(module))
        rows = model.getMaxSeqLen();
    WeightPlanBuilder plan(&getContext());
    WalkResult walk = module.walk([&](Operation *op) -> WalkResult {
      if (auto w = dyn_cast<WeightOp>(op)) {
        Type elt = w.getType().getElementType();
        if (!isa<FloatType>(elt))
          return w.emitOpError("has element type ")
                 << elt << "; weights must be floating point";
        // Readers, looking through a convert fused into their loads.
        SmallVector<OpOperand *> uses;
        for (OpOperand &use : w->getUses()) {
          if (isLoadFusedConvert(use.getOwner()))
            for (OpOperand &u : use.getOwner()->getUses())
              uses.push_back(&u);
          else
            uses.push_back(&use);
        }
        for (OpOperand *use : uses) {
          auto lin = dyn_cast<LinearOp>(use->getOwner());
          if (lin && use->get() == lin.getWeight()) {
            // A gated linear's panels hold panel-width features of each
            // half (twice the width).
            if (lin.getGated())
              plan.add(w, WeightLayout::gated_panels, 2 * panelWidth,
                       lin.getWeightKn());
            else
              plan.add(w, WeightLayout::gemm_panels, panelWidth,
                       lin.getWeightKn());
            continue;
          }
          // The experts of a mixture: a stack of panels per expert.
          if (auto moe = dyn_cast<MoEOp>(use->getOwner())) {
            if (use->get() == moe.getGateUp()) {
              plan.add(w, WeightLayout::gated_panels, 2 * panelWidth, false);
              continue;
            }
            if (use->get() == moe.getDown()) {
              plan.add(w, WeightLayout::gemm_panels, panelWidth, false);
              continue;
            }
          }
          if (embeddingFromPanels && isa<EmbeddingOp>(use->getOwner()) &&
              readsEmbeddingFromPanels(use->get()))
            continue;
          if (w.getQuant())
            return w.emitOpError("is quantized but read by ")
                   << use->getOwner()->getName()
                   << "; only the weight operand of a tfm.linear reads "
                      "quantized weights";
          plan.add(w, WeightLayout::row_major, 0, false);
        }
      }
      // Generated position tables: [positions, cols], computed by the
      // artifact writer.
      auto addTable = [&](Operation *reader, WeightLayout layout, Type elt,
                          bool runtime, int64_t length, int64_t cols,
                          double base, double scaling = 1.0) -> WalkResult {
        int64_t n = positionTableRows(runtime, length, rows);
        if (n <= 0)
          return reader->emitOpError(
              "reads positions at a run-time offset or of a run-time length; "
              "the plan needs max-positions");
        auto f64 = Float64Type::get(&getContext());
        std::string name = generatedTableName(layout, n, cols, base);
        if (scaling != 1.0)
          name += llvm::formatv("/{0}", scaling).str();
        plan.add(name, RankedTensorType::get({n, cols}, elt), layout, 0, false,
                 {}, 0, FloatAttr::get(f64, base),
                 scaling != 1.0 ? FloatAttr::get(f64, scaling) : FloatAttr());
        return WalkResult::advance();
      };
      if (auto pe = dyn_cast<PositionalEncodingOp>(op)) {
        RankedTensorType t = pe.getType();
        return addTable(pe, WeightLayout::sinusoidal, t.getElementType(),
                        pe.getOffset() || t.isDynamicDim(0), t.getDimSize(0),
                        t.getDimSize(1), pe.getBase().convertToDouble());
      }
      if (auto ro = dyn_cast<RotaryOp>(op)) {
        // cos | sin in f32 whatever the activations' type.
        RankedTensorType t = ro.getType();
        return addTable(ro, WeightLayout::rotary,
                        Float32Type::get(&getContext()),
                        ro.getOffset() || t.isDynamicDim(1), t.getDimSize(1),
                        ro.getRotaryDims(), ro.getBase().convertToDouble(),
                        ro.getPositionScaling());
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    module->setAttr(attr::kWeights, plan.finish());
  }
};
} // namespace

std::unique_ptr<Pass>
mlir::tfm::createPlanWeightsPass(const PlanOptions &opts) {
  return std::make_unique<PlanWeightsPass>(opts);
}
