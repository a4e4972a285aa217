//===- WeightPlan.cpp - layout of the weights buffer ----------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/WeightPlan.h"

using namespace mlir;
using namespace mlir::tfm;

static constexpr int64_t kAlignment = 64;

static StringRef layoutName(WeightLayout l) {
  switch (l) {
  case WeightLayout::RowMajor:
    return "row_major";
  case WeightLayout::GemmPanels:
    return "gemm_panels";
  case WeightLayout::Sinusoidal:
    return "sinusoidal";
  }
  llvm_unreachable("unknown layout");
}

/// Number of f32 elements the stored form of `e` occupies.
static int64_t storedElements(const WeightEntry &e) {
  SmallVector<int64_t, 3> shape = e.layout == WeightLayout::GemmPanels
                                      ? e.panelShape()
                                      : SmallVector<int64_t, 3>(e.shape.begin(),
                                                                e.shape.end());
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  return count;
}

const WeightEntry &WeightPlan::add(WeightEntry e) {
  std::string key = e.name + "|" + layoutName(e.layout).str() + "|" +
                    (e.kn ? "kn" : "nk") + "|" + std::to_string(e.nr);
  auto it = index.find(key);
  if (it != index.end())
    return entries[it->second];
  e.bytes = storedElements(e) * 4;
  e.offset = size;
  size += (e.bytes + kAlignment - 1) / kAlignment * kAlignment;
  index[key] = entries.size();
  entries.push_back(std::move(e));
  return entries.back();
}

ArrayAttr WeightPlan::toAttr(Builder &b) const {
  SmallVector<Attribute> out;
  for (const WeightEntry &e : entries) {
    SmallVector<NamedAttribute> fields = {
        b.getNamedAttr("name", b.getStringAttr(e.name)),
        b.getNamedAttr("layout", b.getStringAttr(layoutName(e.layout))),
        b.getNamedAttr("shape", b.getDenseI64ArrayAttr(e.shape)),
        b.getNamedAttr("offset", b.getI64IntegerAttr(e.offset)),
        b.getNamedAttr("bytes", b.getI64IntegerAttr(e.bytes))};
    if (!e.parts.empty()) {
      fields.push_back(b.getNamedAttr(
          "parts",
          b.getStrArrayAttr(llvm::map_to_vector(
              e.parts, [](const std::string &s) { return StringRef(s); }))));
      fields.push_back(
          b.getNamedAttr("concat_axis", b.getI64IntegerAttr(e.concatAxis)));
    }
    if (e.layout == WeightLayout::Sinusoidal)
      fields.push_back(b.getNamedAttr("base", b.getF64FloatAttr(e.base)));
    if (e.layout == WeightLayout::GemmPanels) {
      fields.push_back(b.getNamedAttr("kn", b.getBoolAttr(e.kn)));
      fields.push_back(b.getNamedAttr("nr", b.getI64IntegerAttr(e.nr)));
    }
    out.push_back(b.getDictionaryAttr(fields));
  }
  return b.getArrayAttr(out);
}


WeightEntry mlir::tfm::weightEntryFor(WeightOp op) {
  WeightEntry e;
  e.name = op.getName().str();
  e.shape.assign(op.getType().getShape().begin(),
                 op.getType().getShape().end());
  if (std::optional<ArrayAttr> parts = op.getParts()) {
    for (Attribute p : *parts)
      e.parts.push_back(cast<StringAttr>(p).getValue().str());
    e.concatAxis = *op.getConcatAxis();
  }
  return e;
}

int64_t mlir::tfm::tokenIdBound(Value arg) {
  int64_t bound = 0;
  for (Operation *user : arg.getUsers()) {
    int64_t rows = 0;
    if (auto e = dyn_cast<EmbeddingOp>(user); e && e.getIds() == arg)
      rows = e.getTable().getType().getDimSize(0);
    if (auto g = dyn_cast<GatherOp>(user); g && g.getIndices() == arg)
      rows = g.getInput().getType().getDimSize(g.getAxis());
    if (rows > 0)
      bound = bound ? std::min(bound, rows) : rows;
  }
  return bound;
}

const WeightEntry &WeightPlan::addGemmPanels(WeightOp op, bool kn, int64_t nr) {
  WeightEntry e = weightEntryFor(op);
  e.layout = WeightLayout::GemmPanels;
  e.kn = kn;
  e.nr = nr;
  return add(std::move(e));
}

const WeightEntry &WeightPlan::addSinusoidal(int64_t rows, int64_t d,
                                             double base) {
  WeightEntry e;
  // The name only identifies the table (two sizes are two tables).
  e.name = "tfm.sinusoidal[" + std::to_string(rows) + "x" + std::to_string(d) +
           ",base=" + std::to_string(base) + "]";
  e.layout = WeightLayout::Sinusoidal;
  e.shape = {rows, d};
  e.base = base;
  return add(std::move(e));
}
