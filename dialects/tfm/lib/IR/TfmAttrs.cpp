//===- TfmAttrs.cpp - the typed contract between stages -------------------===//
//
// Part of tfmc. Attribute verifiers, accessors and the dialect's checks of
// every `tfm.*` attribute attached to an op, a region argument or a result.
//
//===----------------------------------------------------------------------===//

#include "tfm/IR/TfmAttrs.h"
#include "tfm/IR/TfmDialect.h"
#include "tfmc/abi.h"
#include "tfmc/runtime.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::tfm;

#include "tfm/IR/TfmAttrEnums.cpp.inc"

FailureOr<bool> mlir::tfm::parseBoolParameter(AsmParser &parser) {
  if (succeeded(parser.parseOptionalKeyword("true")))
    return true;
  if (succeeded(parser.parseOptionalKeyword("false")))
    return false;
  return parser.emitError(parser.getCurrentLocation(),
                          "expected 'true' or 'false'");
}

#define GET_ATTRDEF_CLASSES
#include "tfm/IR/TfmAttrs.cpp.inc"

void TfmDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tfm/IR/TfmAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

int64_t mlir::tfm::elementBytes(Type type) {
  if (type.isIndex())
    return 8;
  if (type.isInteger(1))
    return 1;
  if (isa<FloatType, IntegerType>(type)) {
    unsigned bits = type.getIntOrFloatBitWidth();
    if (bits == 8 || bits == 16 || bits == 32 || bits == 64)
      return bits / 8;
  }
  return 0;
}

StringRef mlir::tfm::dtypeName(Type t) {
  static const char *const names[] = TFMC_DTYPE_NAMES;
  if (t.isIndex() || t.isInteger(64))
    return names[TFMC_DTYPE_INT64];
  if (t.isF32())
    return names[TFMC_DTYPE_FLOAT32];
  if (t.isInteger(32))
    return names[TFMC_DTYPE_INT32];
  if (t.isF16())
    return names[TFMC_DTYPE_FLOAT16];
  if (t.isBF16())
    return names[TFMC_DTYPE_BFLOAT16];
  if (t.isInteger(8))
    return names[TFMC_DTYPE_INT8];
  if (t.isInteger(1))
    return names[TFMC_DTYPE_BOOL];
  return "";
}

ModelAttr mlir::tfm::getModelAttr(Operation *module) {
  return module ? module->getAttrOfType<ModelAttr>(attr::kModel) : ModelAttr();
}

EntryAttr mlir::tfm::getEntryAttr(Operation *function) {
  return function ? function->getAttrOfType<EntryAttr>(attr::kEntry)
                  : EntryAttr();
}

WeightPlanAttr mlir::tfm::getWeightPlan(Operation *module) {
  return module ? module->getAttrOfType<WeightPlanAttr>(attr::kWeights)
                : WeightPlanAttr();
}

BufferAttr mlir::tfm::getResultBuffer(Operation *op, unsigned index) {
  auto all = op->getAttrOfType<ArrayAttr>(attr::kBuffers);
  if (!all || index >= all.size())
    return BufferAttr();
  return dyn_cast<BufferAttr>(all[index]);
}

//===----------------------------------------------------------------------===//
// Attribute verifiers
//===----------------------------------------------------------------------===//

LogicalResult ModelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                ModelFamily family, int64_t vocabSize,
                                int64_t maxSeqLen, int64_t bosId, int64_t eosId,
                                int64_t padId, TokenizerAttr tokenizer) {
  if (vocabSize <= 0)
    return emitError() << "vocab_size must be positive, got " << vocabSize;
  if (maxSeqLen <= 0)
    return emitError() << "max_seq_len must be positive, got " << maxSeqLen;
  for (auto [name, id] : {std::pair<StringRef, int64_t>{"bos_id", bosId},
                          {"eos_id", eosId},
                          {"pad_id", padId}})
    if (id < -1 || id >= vocabSize)
      return emitError() << name << " " << id
                         << " is outside the vocabulary [0, " << vocabSize
                         << ") (-1: none)";
  return success();
}

StringRef IoAttr::getDimName(unsigned d) const {
  ArrayRef<StringAttr> dims = getDims();
  return d < dims.size() && dims[d] ? dims[d].getValue() : StringRef();
}

LogicalResult IoAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                             StringAttr name, Type type, IoRole role,
                             ArrayRef<StringAttr> dims, int64_t idBound,
                             int64_t arg, int64_t offset, int64_t bytes) {
  if (!name || name.getValue().empty())
    return emitError() << "an entry tensor needs a name";
  auto shaped = dyn_cast<RankedTensorType>(type);
  if (!shaped && !type.isIndex())
    return emitError() << "'" << name.getValue()
                       << "' must be a ranked tensor or an index, got " << type;
  if (shaped && elementBytes(shaped.getElementType()) == 0)
    return emitError() << "'" << name.getValue()
                       << "' has an unsupported element type "
                       << shaped.getElementType();
  if (!dims.empty()) {
    if (!shaped || static_cast<int64_t>(dims.size()) != shaped.getRank())
      return emitError() << "'" << name.getValue() << "' names " << dims.size()
                         << " dimensions but has rank "
                         << (shaped ? shaped.getRank() : 0);
    for (auto [d, n] : llvm::enumerate(dims))
      if (!n.getValue().empty() && !shaped.isDynamicDim(d))
        return emitError() << "'" << name.getValue() << "' names static "
                           << "dimension " << d << " '" << n.getValue() << "'";
  }
  if (shaped)
    for (int64_t d = 0; d < shaped.getRank(); ++d)
      if (shaped.isDynamicDim(d) && (d >= static_cast<int64_t>(dims.size()) ||
                                     dims[d].getValue().empty()))
        return emitError() << "dynamic dimension " << d << " of '"
                           << name.getValue() << "' has no name";
  if (idBound < 0)
    return emitError() << "id_bound must not be negative";
  if (idBound > 0 && (!shaped || !isa<IntegerType>(shaped.getElementType())))
    return emitError() << "id_bound needs integer elements";
  if (arg < 0)
    return emitError() << "'" << name.getValue()
                       << "' needs the index of its argument or result";
  if (offset < -1 || bytes < 0)
    return emitError() << "offset and bytes must not be negative";
  return success();
}

int64_t EntryAttr::getBound(StringRef name) const {
  if (auto b = getBounds().getAs<IntegerAttr>(name))
    return b.getInt();
  return 0;
}

IoAttr EntryAttr::lookup(StringRef name) const {
  for (IoAttr io : llvm::concat<const IoAttr>(getInputs(), getOutputs()))
    if (io.getName().getValue() == name)
      return io;
  return IoAttr();
}

int64_t EntryAttr::getStateBytes() const {
  int64_t bytes = 0;
  for (IoAttr io : getInputs())
    if (io.getRole() == IoRole::state && io.getOffset() >= 0)
      bytes = std::max(bytes, io.getOffset() + io.getBytes());
  return bytes;
}

uint64_t EntryAttr::getSignature(WeightPlanAttr plan) const {
  uint64_t h = TFMC_SIGNATURE_SEED;
  auto add = [&](const char *kind, IoAttr io) {
    SmallVector<int64_t> dims;
    Type elt = io.getType();
    if (auto t = dyn_cast<RankedTensorType>(io.getType())) {
      for (int64_t d : t.getShape())
        dims.push_back(ShapedType::isDynamic(d) ? -1 : d);
      elt = t.getElementType();
    }
    std::string name = io.getName().str();
    h = tfmc_signature_add(h, kind, name.c_str(), dtypeName(elt).data(),
                           dims.data(), dims.size());
  };
  for (IoAttr io : getInputs())
    add(io.getRole() == IoRole::state ? "state" : "in", io);
  for (IoAttr io : getOutputs())
    add("out", io);
  if (plan)
    for (WeightEntryAttr w : plan.getEntries()) {
      SmallVector<int64_t> dims = {w.getOffset(), w.getBytes(),
                                   w.getPanelWidth(), w.getKn()};
      llvm::append_range(dims, w.getType().getShape());
      if (QuantAttr q = w.getQuant())
        llvm::append_range(dims,
                           ArrayRef<int64_t>{-1, q.getBits(), q.getGroup()});
      std::string name = w.getName().str();
      h = tfmc_signature_add(h, stringifyWeightLayout(w.getLayout()).data(),
                             name.c_str(),
                             dtypeName(w.getType().getElementType()).data(),
                             dims.data(), dims.size());
    }
  return h;
}

LogicalResult EntryAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                ArrayRef<IoAttr> inputs,
                                ArrayRef<IoAttr> outputs, DictionaryAttr bounds,
                                int64_t arena) {
  for (NamedAttribute b : bounds) {
    auto v = dyn_cast<IntegerAttr>(b.getValue());
    if (!v || v.getInt() <= 0)
      return emitError() << "bound of dimension '" << b.getName().getValue()
                         << "' must be a positive integer";
  }
  llvm::StringSet<> names;
  for (IoAttr io : inputs) {
    if (io.getRole() == IoRole::output)
      return emitError() << "input '" << io.getName().getValue()
                         << "' has role output";
    if (!names.insert(io.getName().getValue()).second)
      return emitError() << "two entry tensors are named '"
                         << io.getName().getValue() << "'";
  }
  for (IoAttr io : outputs) {
    if (io.getRole() != IoRole::output)
      return emitError() << "output '" << io.getName().getValue()
                         << "' must have role output";
    if (!names.insert(io.getName().getValue()).second)
      return emitError() << "two entry tensors are named '"
                         << io.getName().getValue() << "'";
  }
  for (IoAttr io : llvm::concat<const IoAttr>(inputs, outputs))
    for (StringAttr d : io.getDims())
      if (!d.getValue().empty() && !bounds.get(d.getValue()))
        return emitError() << "dimension '" << d.getValue() << "' of '"
                           << io.getName().getValue() << "' has no bound";
  if (arena < 0)
    return emitError() << "arena must not be negative";
  return success();
}

/// Panels of `w` columns holding `n` features: gated panels hold w/2 of
/// each half of the features.
static int64_t panelCount(WeightLayout layout, int64_t n, int64_t w) {
  if (layout == WeightLayout::gated_panels)
    return (n / 2 + w / 2 - 1) / (w / 2);
  return (n + w - 1) / w;
}

/// Panels of a rank-2 matrix, or of each matrix of a rank-3 stack (the
/// experts of a mixture): [(stack,) panels, K, width].
SmallVector<int64_t> WeightEntryAttr::getStoredShape() const {
  ArrayRef<int64_t> shape = getType().getShape();
  WeightLayout layout = getLayout();
  if (layout != WeightLayout::gemm_panels &&
      layout != WeightLayout::gated_panels)
    return SmallVector<int64_t>(shape);
  ArrayRef<int64_t> mat = shape.take_back(2);
  int64_t n = getKn() ? mat[1] : mat[0];
  int64_t k = getKn() ? mat[0] : mat[1];
  int64_t w = getPanelWidth();
  SmallVector<int64_t> stored(shape.drop_back(2));
  stored.append({panelCount(layout, n, w), k, w});
  return stored;
}

LogicalResult QuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t bits, int64_t group) {
  if (bits != 8 && bits != 4)
    return emitError() << "quantized weights have 8 or 4 bits, not " << bits;
  if (group <= 0)
    return emitError() << "the quantization group must be positive, not "
                       << group;
  return success();
}

/// Quantized panels [(stack,) P, K, w]: codes in bytes (w or w/2 per row),
/// then f32 scales [(stack,) P, ceil(K / group), w].
static SmallVector<int64_t> quantCodesShape(ArrayRef<int64_t> panels,
                                            QuantAttr q) {
  SmallVector<int64_t> s(panels);
  if (q.getBits() == 4)
    s.back() /= 2;
  return s;
}
static SmallVector<int64_t> quantScalesShape(ArrayRef<int64_t> panels,
                                             QuantAttr q) {
  SmallVector<int64_t> s(panels);
  int64_t k = s[s.size() - 2];
  s[s.size() - 2] = (k + q.getGroup() - 1) / q.getGroup();
  return s;
}
static int64_t product(ArrayRef<int64_t> s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}
static int64_t alignTo64(int64_t n) { return (n + 63) / 64 * 64; }

SmallVector<int64_t> WeightEntryAttr::getCodesShape() const {
  return quantCodesShape(getStoredShape(), getQuant());
}
SmallVector<int64_t> WeightEntryAttr::getScalesShape() const {
  return quantScalesShape(getStoredShape(), getQuant());
}
int64_t WeightEntryAttr::getScalesOffset() const {
  return alignTo64(product(getCodesShape()));
}

int64_t WeightEntryAttr::storedBytes(RankedTensorType type, WeightLayout layout,
                                     int64_t panelWidth, bool kn,
                                     QuantAttr quant) {
  ArrayRef<int64_t> shape = type.getShape();
  if (quant) {
    ArrayRef<int64_t> mat = shape.take_back(2);
    int64_t n = kn ? mat[1] : mat[0], k = kn ? mat[0] : mat[1];
    SmallVector<int64_t> panels(shape.drop_back(2));
    panels.append({panelCount(layout, n, panelWidth), k, panelWidth});
    return alignTo64(product(quantCodesShape(panels, quant))) +
           4 * product(quantScalesShape(panels, quant));
  }
  int64_t count = 1;
  if (layout == WeightLayout::gemm_panels ||
      layout == WeightLayout::gated_panels) {
    ArrayRef<int64_t> mat = shape.take_back(2);
    int64_t n = kn ? mat[1] : mat[0], k = kn ? mat[0] : mat[1];
    count = panelCount(layout, n, panelWidth) * k * panelWidth;
    for (int64_t d : shape.drop_back(2))
      count *= d;
  } else {
    for (int64_t d : shape)
      count *= d;
  }
  return count * elementBytes(type.getElementType());
}

LogicalResult WeightEntryAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, StringAttr name,
    RankedTensorType type, WeightLayout layout, int64_t panelWidth, bool kn,
    ArrayRef<StringAttr> parts, int64_t concatAxis, FloatAttr base,
    FloatAttr scaling, QuantAttr quant, int64_t offset, int64_t bytes) {
  if (!name || name.getValue().empty())
    return emitError() << "a weight entry needs a name";
  if (!type.hasStaticShape())
    return emitError() << "weight '" << name.getValue()
                       << "' must have a static shape";
  Type elt = type.getElementType();
  if (!isa<FloatType>(elt) || elementBytes(elt) == 0)
    return emitError() << "weight '" << name.getValue()
                       << "' has unsupported element type " << elt;
  switch (layout) {
  case WeightLayout::row_major:
    break;
  case WeightLayout::gemm_panels:
    if (type.getRank() < 2 || type.getRank() > 3 || panelWidth <= 0)
      return emitError() << "gemm_panels weight '" << name.getValue()
                         << "' needs rank 2 (or 3: a stack of matrices) and "
                            "a positive panel_width";
    break;
  case WeightLayout::gated_panels:
    if (type.getRank() < 2 || type.getRank() > 3 || panelWidth <= 0 ||
        panelWidth % 2 != 0 ||
        type.getDimSize(type.getRank() - (kn ? 1 : 2)) % 2 != 0)
      return emitError() << "gated_panels weight '" << name.getValue()
                         << "' needs rank 2 (or 3: a stack of matrices), an "
                            "even number of features and an even positive "
                            "panel_width";
    break;
  case WeightLayout::sinusoidal:
  case WeightLayout::rotary:
    if (type.getRank() != 2 || !base || base.getValueAsDouble() <= 0 ||
        !parts.empty())
      return emitError() << stringifyWeightLayout(layout) << " table '"
                         << name.getValue()
                         << "' needs rank 2, a positive base and no parts";
    if (layout == WeightLayout::rotary && type.getDimSize(1) % 2 != 0)
      return emitError() << "rotary table '" << name.getValue()
                         << "' needs an even number of columns";
    break;
  }
  if (scaling &&
      (layout != WeightLayout::rotary || !(scaling.getValueAsDouble() > 0)))
    return emitError() << "'" << name.getValue()
                       << "': a scaling applies only to rotary tables and "
                          "must be positive";
  if (!parts.empty() && (concatAxis < 0 || concatAxis >= type.getRank()))
    return emitError() << "concat_axis " << concatAxis << " of '"
                       << name.getValue() << "' is out of range";
  if (offset < 0 || offset % 64 != 0)
    return emitError() << "weight '" << name.getValue()
                       << "' must be at a 64-byte aligned offset";
  if (quant && ((layout != WeightLayout::gemm_panels &&
                 layout != WeightLayout::gated_panels) ||
                !elt.isF32() || type.getRank() != 2))
    return emitError() << "quantized weight '" << name.getValue()
                       << "' must be an f32 matrix stored as panels";
  if (quant && quant.getBits() == 4 && panelWidth % 2 != 0)
    return emitError() << "4-bit weight '" << name.getValue()
                       << "' needs an even panel_width";
  int64_t want = storedBytes(type, layout, panelWidth, kn, quant);
  if (bytes != want)
    return emitError() << "weight '" << name.getValue() << "' stores " << want
                       << " bytes, not " << bytes;
  return success();
}

WeightEntryAttr WeightPlanAttr::lookup(StringRef name, WeightLayout layout,
                                       Type elt) const {
  for (WeightEntryAttr e : getEntries())
    if (e.getLayout() == layout && e.getName().getValue() == name &&
        (!elt || e.getType().getElementType() == elt))
      return e;
  return WeightEntryAttr();
}

WeightEntryAttr WeightPlanAttr::lookupTable(WeightLayout layout, int64_t cols,
                                            double base, double scaling) const {
  WeightEntryAttr best;
  for (WeightEntryAttr e : getEntries())
    if (e.getLayout() == layout && e.getType().getDimSize(1) == cols &&
        e.getBase() && e.getBase().getValueAsDouble() == base &&
        (e.getScaling() ? e.getScaling().getValueAsDouble() : 1.0) == scaling &&
        (!best || e.getType().getDimSize(0) > best.getType().getDimSize(0)))
      best = e;
  return best;
}

LogicalResult
WeightPlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       int64_t bytes, ArrayRef<WeightEntryAttr> entries) {
  SmallVector<std::pair<int64_t, int64_t>> ranges;
  for (WeightEntryAttr e : entries) {
    if (e.getOffset() + e.getBytes() > bytes)
      return emitError() << "weight '" << e.getName().getValue()
                         << "' ends past the buffer (" << bytes << " bytes)";
    ranges.push_back({e.getOffset(), e.getOffset() + e.getBytes()});
  }
  llvm::sort(ranges);
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      return emitError() << "weight entries overlap at byte "
                         << ranges[i].first;
  return success();
}

LogicalResult BufferAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 BufferKind kind, int64_t offset, int64_t bytes,
                                 int64_t index) {
  if (offset < 0 || bytes < 0)
    return emitError() << "offset and bytes must not be negative";
  bool indexed = kind == BufferKind::input || kind == BufferKind::output ||
                 kind == BufferKind::state;
  if (indexed != (index >= 0))
    return emitError() << "a buffer of kind " << stringifyBufferKind(kind)
                       << (indexed ? " needs" : " takes no") << " index";
  return success();
}

//===----------------------------------------------------------------------===//
// Discardable attributes on ops, arguments and results
//===----------------------------------------------------------------------===//

/// Checks a `tfm.dim_names` array against the type it names.
static LogicalResult verifyDimNames(Operation *op, Attribute a, Type type,
                                    const Twine &what) {
  auto names = dyn_cast<ArrayAttr>(a);
  if (!names || !llvm::all_of(names, llvm::IsaPred<StringAttr>))
    return op->emitError() << what << ": '" << attr::kDimNames
                           << "' must be an array of strings";
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasRank() ||
      shaped.getRank() != static_cast<int64_t>(names.size()))
    return op->emitError() << what << ": '" << attr::kDimNames << "' has "
                           << names.size() << " names for type " << type;
  for (auto [d, n] : llvm::enumerate(names.getAsRange<StringAttr>()))
    if (!n.getValue().empty() && !shaped.isDynamicDim(d))
      return op->emitError() << what << ": dimension " << d << " is static "
                             << "but named '" << n.getValue() << "'";
  return success();
}

static LogicalResult verifyIoAttr(Operation *op, NamedAttribute a, Type type,
                                  const Twine &what) {
  StringRef name = a.getName().getValue();
  if (name == attr::kName) {
    auto s = dyn_cast<StringAttr>(a.getValue());
    if (!s || s.getValue().empty())
      return op->emitError()
             << what << ": '" << attr::kName << "' must be a non-empty string";
    return success();
  }
  if (name == attr::kDimNames)
    return verifyDimNames(op, a.getValue(), type, what);
  return failure();
}

LogicalResult TfmDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned region,
                                                   unsigned index,
                                                   NamedAttribute a) {
  Type type = op->getRegion(region).getNumArguments() > index
                  ? op->getRegion(region).getArgument(index).getType()
                  : Type();
  if (auto fn = dyn_cast<FunctionOpInterface>(op))
    type = fn.getArgumentTypes()[index];
  if (succeeded(verifyIoAttr(op, a, type, "argument " + Twine(index))))
    return success();
  if (a.getName() == attr::kName || a.getName() == attr::kDimNames)
    return failure(); // reported by verifyIoAttr
  if (a.getName() == attr::kIdBound) {
    auto b = dyn_cast<IntegerAttr>(a.getValue());
    if (!b || b.getInt() <= 0)
      return op->emitError() << "argument " << index << ": '" << attr::kIdBound
                             << "' must be a positive integer";
    return success();
  }
  return op->emitError() << "argument " << index << ": unknown attribute '"
                         << a.getName().getValue() << "'";
}

LogicalResult TfmDialect::verifyRegionResultAttribute(Operation *op,
                                                      unsigned region,
                                                      unsigned index,
                                                      NamedAttribute a) {
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn)
    return op->emitError() << "'" << a.getName().getValue()
                           << "' is only valid on function results";
  Type type = fn.getResultTypes()[index];
  if (succeeded(verifyIoAttr(op, a, type, "result " + Twine(index))))
    return success();
  if (a.getName() == attr::kName || a.getName() == attr::kDimNames)
    return failure();
  if (a.getName() == attr::kTiedTo) {
    auto tied = dyn_cast<IntegerAttr>(a.getValue());
    if (!tied)
      return op->emitError() << "result " << index << ": '" << attr::kTiedTo
                             << "' must be an integer";
    int64_t arg = tied.getInt();
    if (arg < 0 || arg >= static_cast<int64_t>(fn.getNumArguments()) ||
        fn.getArgumentTypes()[arg] != type)
      return op->emitError()
             << "result " << index << " is tied to argument " << arg
             << ", which does not exist or has another type";
    return success();
  }
  return op->emitError() << "result " << index << ": unknown attribute '"
                         << a.getName().getValue() << "'";
}

/// The type an entry argument/result has at either level: a tensor (or
/// index) before lowering, a memref of the same shape after.
static bool sameIoType(Type want, Type have) {
  if (want == have)
    return true;
  auto t = dyn_cast<RankedTensorType>(want);
  auto m = dyn_cast<MemRefType>(have);
  if (want.isIndex() && m && m.getRank() == 0)
    return true;
  return t && m && t.getShape() == m.getShape() &&
         t.getElementType() == m.getElementType();
}

static LogicalResult verifyEntryOnFunction(Operation *op, EntryAttr entry) {
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn)
    return op->emitError() << "'" << attr::kEntry
                           << "' is only valid on functions";
  // Past the memref level (LLVM functions) the ABI is metadata only.
  if (!isa<FunctionType>(fn.getFunctionType()))
    return success();
  ArrayRef<Type> args = fn.getArgumentTypes();
  ArrayRef<Type> results = fn.getResultTypes();
  // Before lowering, results are returned; after, outputs are arguments
  // that follow the inputs.
  bool lowered = results.empty() && !entry.getOutputs().empty();
  for (IoAttr io : entry.getInputs()) {
    int64_t arg = io.getArg();
    if (arg >= static_cast<int64_t>(args.size()) ||
        !sameIoType(io.getType(), args[arg]))
      return op->emitError() << "entry input '" << io.getName().getValue()
                             << "' does not match argument " << arg;
  }
  for (auto [i, io] : llvm::enumerate(entry.getOutputs())) {
    int64_t at = io.getArg();
    Type have;
    if (lowered) {
      int64_t a = entry.getInputs().size() + i;
      have = a < static_cast<int64_t>(args.size()) ? args[a] : Type();
    } else if (at < static_cast<int64_t>(results.size())) {
      have = results[at];
    }
    if (!have || !sameIoType(io.getType(), have))
      return op->emitError() << "entry output '" << io.getName().getValue()
                             << "' does not match result " << at;
  }
  return success();
}


/// attr::kImage: {channels, [height, width, resize, rescale, mean, std],
/// labels} on a module (docs/model-format.md).
static LogicalResult verifyImageAttr(Operation *op, Attribute value) {
  auto dict = dyn_cast<DictionaryAttr>(value);
  if (!dict || !isa<ModuleOp>(op))
    return op->emitError() << "'" << attr::kImage
                           << "' must be a dictionary on a module";
  auto bad = [&](StringRef key, StringRef what) {
    return op->emitError() << "'" << attr::kImage << "': '" << key
                           << "' must be " << what;
  };
  auto positive = [&](StringRef key) -> int64_t {
    auto i = dict.getAs<IntegerAttr>(key);
    return i && !isa<BoolAttr>(i) && i.getInt() > 0 ? i.getInt() : 0;
  };
  int64_t channels = positive("channels");
  if (!channels)
    return bad("channels", "a positive integer");
  if (dict.contains("height")) {
    for (StringRef key : {"height", "width"})
      if (!positive(key))
        return bad(key, "a positive integer");
    if (!dict.getAs<BoolAttr>("resize"))
      return bad("resize", "a boolean");
    auto rescale = dict.getAs<FloatAttr>("rescale");
    if (!rescale || rescale.getValueAsDouble() < 0)
      return bad("rescale", "a non-negative float");
    for (StringRef key : {"mean", "std"}) {
      auto a = dict.getAs<ArrayAttr>(key);
      if (!a || int64_t(a.size()) != channels ||
          !llvm::all_of(a, [&](Attribute e) {
            auto f = dyn_cast<FloatAttr>(e);
            return f && (key == "mean" || f.getValueAsDouble() > 0);
          }))
        return bad(key, key == "mean" ? "one float per channel"
                                      : "one positive float per channel");
    }
  }
  if (auto labels = dict.get("labels")) {
    auto a = dyn_cast<ArrayAttr>(labels);
    if (!a || !llvm::all_of(a, llvm::IsaPred<StringAttr>))
      return bad("labels", "an array of strings");
  }
  return success();
}

LogicalResult TfmDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute a) {
  StringRef name = a.getName().getValue();
  Attribute value = a.getValue();
  auto onModule = [&](auto typed, StringRef what) -> LogicalResult {
    if (!typed)
      return op->emitError() << "'" << name << "' must be " << what;
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name << "' is only valid on modules";
    return success();
  };
  if (name == attr::kModel)
    return onModule(dyn_cast<ModelAttr>(value), "a #tfm.model");
  if (name == attr::kWeights)
    return onModule(dyn_cast<WeightPlanAttr>(value), "a #tfm.weight_plan");
  if (name == attr::kEntry) {
    auto entry = dyn_cast<EntryAttr>(value);
    if (!entry)
      return op->emitError() << "'" << name << "' must be a #tfm.entry";
    return verifyEntryOnFunction(op, entry);
  }
  if (name == attr::kDimBounds) {
    auto bounds = dyn_cast<DictionaryAttr>(value);
    if (!bounds || !isa<FunctionOpInterface>(op))
      return op->emitError()
             << "'" << name << "' must be a dictionary on a function";
    for (NamedAttribute b : bounds) {
      auto v = dyn_cast<IntegerAttr>(b.getValue());
      if (!v || v.getInt() <= 0)
        return op->emitError()
               << "bound of dimension '" << b.getName().getValue()
               << "' must be a positive integer";
    }
    return success();
  }
  if (name == attr::kBuffers) {
    auto list = dyn_cast<ArrayAttr>(value);
    if (!list || !llvm::all_of(list, llvm::IsaPred<BufferAttr>) ||
        list.size() != op->getNumResults())
      return op->emitError() << "'" << name << "' must hold one #tfm.buffer "
                             << "per result";
    return success();
  }
  if (name == attr::kScratch) {
    auto b = dyn_cast<BufferAttr>(value);
    if (!b || b.getKind() != BufferKind::arena)
      return op->emitError() << "'" << name << "' must be an arena #tfm.buffer";
    return success();
  }
  if (name == attr::kWorkspaceBytes) {
    auto b = dyn_cast<IntegerAttr>(value);
    if (!b || b.getInt() < 0 || !isa<FunctionOpInterface>(op))
      return op->emitError()
             << "'" << name << "' must be a byte count on a function";
    return success();
  }
  if (name == attr::kImage)
    return verifyImageAttr(op, value);
  if (name == attr::kEntryWrapper) {
    if (!isa<StringAttr>(value) || !isa<FunctionOpInterface>(op))
      return op->emitError()
             << "'" << name << "' must be a string on a function";
    return success();
  }
  return op->emitError() << "unknown attribute '" << name << "'";
}
