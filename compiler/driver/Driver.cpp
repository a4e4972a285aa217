//===- Driver.cpp - compiling a model file, as a library ------------------===//
//
// Part of tfmc. Reads a model (TOML, Hugging Face folder, .mlir), runs the
// pipeline up to the requested stage and prints that stage or writes the
// artifact. Errors are reported once, located in the model file, and
// nothing is written to the output unless the whole compilation succeeded.
//
//===----------------------------------------------------------------------===//

#include "tfm/Tools/Driver.h"

#include "EntryRemarks.h"

#include "tfm/Conversion/CpuTarget.h"
#include "tfm/Frontends/Frontends.h"
#include "tfm/Frontends/ModelSpec.h"
#include "tfm/IR/TfmDialect.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Target/Cpu.h"
#include "tfm/Target/Vulkan.h"
#include "tfm/Tools/Inspect.h"
#include "tfm/Transforms/Passes.h"
#include "tfm/Transforms/Transforms.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <mutex>

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::driver;

void driver::registerPasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    tfm::registerTfmPasses();
    tfm::registerTfmPlanPasses();
    tfm::registerTfmPipelines();
    tfm::registerCpuPlanTarget();
    tfm::registerVulkanPlanTarget();
    registerCanonicalizerPass();
    registerCSEPass();
  });
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

/// The file location inside `loc`, if any.
static std::optional<FileLineColLoc> findFileLoc(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return f;
  if (auto n = dyn_cast<NameLoc>(loc))
    return findFileLoc(n.getChildLoc());
  if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations())
      if (auto r = findFileLoc(l))
        return r;
  return std::nullopt;
}

/// Prints "file: error: message" for diagnostics about a whole (binary) file;
/// everything else goes to the SourceMgr handler, which quotes the line.
static LogicalResult printFileDiagnostic(Diagnostic &diag,
                                         llvm::raw_ostream &os) {
  std::optional<FileLineColLoc> f = findFileLoc(diag.getLocation());
  if (!f || f->getLine() != 0)
    return failure();
  os << f->getFilename().getValue() << ": "
     << (diag.getSeverity() == DiagnosticSeverity::Error     ? "error"
         : diag.getSeverity() == DiagnosticSeverity::Warning ? "warning"
         : diag.getSeverity() == DiagnosticSeverity::Remark  ? "remark"
                                                             : "note")
     << ": " << diag << "\n";
  for (Diagnostic &note : diag.getNotes())
    os << "note: " << note << "\n";
  return success();
}

//===----------------------------------------------------------------------===//
// One compilation
//===----------------------------------------------------------------------===//

namespace {
class Compilation {
public:
  Compilation(const Options &o, llvm::raw_ostream &errs, EntryRemarks *remarks)
      : o(o), emit(o.emit.value_or(Emit::Fused)), errs(errs), remarks(remarks) {
  }
  LogicalResult run(MLIRContext &ctx, llvm::SourceMgr &sourceMgr);

private:
  bool needsFusion() const;
  bool needsLowering() const;
  bool needsPlan() const;
  std::optional<int64_t> parseLength(llvm::StringRef flag,
                                     llvm::StringRef v) const;
  LogicalResult parseQuantize();
  LogicalResult configure(PassManager &pm,
                          const std::shared_ptr<IRDumpDir> &dump) const;
  Type weightStorage(WeightOp w, const WeightStore &store) const;
  LogicalResult runPipeline(ModuleOp module, const CpuTarget *target,
                            const VulkanTarget *vkTarget,
                            const WeightStore &weights,
                            const std::shared_ptr<IRDumpDir> &dump) const;
  LogicalResult writeOutput(llvm::StringRef text) const;
  void renderSVG(llvm::StringRef dotPath) const;

  const Options &o;
  Emit emit;
  llvm::raw_ostream &errs;
  EntryRemarks *remarks; // --fusion-remarks: grouped across entries
  // --quantize (bits 0: none) and --quantize-skip.
  int64_t quantBits = 0, quantGroup = 0;
  bool quantSkipLmHead = false;
};
} // namespace

/// --quantize=int8|int4[:GROUP] and --quantize-skip=lm_head[,...].
LogicalResult Compilation::parseQuantize() {
  auto [mode, groupText] = llvm::StringRef(o.quantize).split(':');
  if (mode.empty() && groupText.empty()) {
    if (!o.quantizeSkip.empty()) {
      errs << "error: --quantize-skip needs --quantize\n";
      return failure();
    }
    return success();
  }
  if (mode != "int8" && mode != "int4") {
    errs << "error: --quantize: expected int8 or int4 (optionally :GROUP), "
            "got '"
         << o.quantize << "'\n";
    return failure();
  }
  quantBits = mode == "int8" ? 8 : 4;
  quantGroup = 32;
  if (o.quantize.find(':') != std::string::npos &&
      (groupText.getAsInteger(10, quantGroup) || quantGroup < 1 ||
       quantGroup > 4096)) {
    errs << "error: --quantize: the group must be an integer in [1, 4096], "
            "got '"
         << groupText << "'\n";
    return failure();
  }
  llvm::SmallVector<llvm::StringRef> skips;
  llvm::StringRef(o.quantizeSkip).split(skips, ',', -1, false);
  for (llvm::StringRef s : skips) {
    if (s == "lm_head") {
      quantSkipLmHead = true;
      continue;
    }
    errs << "error: --quantize-skip: unknown '" << s << "'"
         << (s == "embedding"
                 ? " (embedding tables are never quantized: only GEMM "
                   "weights are)"
                 : "")
         << "; the list takes lm_head\n";
    return failure();
  }
  if (o.target == TargetKind::Vulkan) {
    errs << "error: --quantize is implemented for --target=cpu; the Vulkan "
            "kernels read f32, f16 or bf16 weights\n";
    return failure();
  }
  return success();
}

/// Parses a length option: "" (not given) is 0, "dynamic" is
/// ModelSpec::kDynamicLength.
std::optional<int64_t> Compilation::parseLength(llvm::StringRef flag,
                                                llvm::StringRef v) const {
  if (v.empty())
    return 0;
  if (v == "dynamic")
    return ModelSpec::kDynamicLength;
  int64_t n;
  if (v.getAsInteger(10, n) || n < 1) {
    errs << "error: --" << flag
         << " expects a positive integer or 'dynamic', got '" << v << "'\n";
    return std::nullopt;
  }
  return n;
}

/// Writes `text` to the output atomically (a temporary renamed on success).
LogicalResult Compilation::writeOutput(llvm::StringRef text) const {
  if (o.output == "-") {
    llvm::outs() << text;
    return success();
  }
  std::string err;
  auto out = openOutputFile(o.output, &err);
  if (!out) {
    errs << o.output << ": error: " << err << "\n";
    return failure();
  }
  out->os() << text;
  out->keep();
  return success();
}

/// Renders `dotPath` to SVG next to it when Graphviz is installed.
void Compilation::renderSVG(llvm::StringRef dotPath) const {
  llvm::ErrorOr<std::string> dot = llvm::sys::findProgramByName("dot");
  if (!dot) {
    errs << "note: 'dot' (Graphviz) not found; wrote only " << dotPath << "\n";
    return;
  }
  llvm::SmallString<128> svg(dotPath);
  llvm::sys::path::replace_extension(svg, "svg");
  std::string errMsg;
  int rc = llvm::sys::ExecuteAndWait(*dot, {*dot, "-Tsvg", dotPath, "-o", svg},
                                     std::nullopt, {}, 0, 0, &errMsg);
  if (rc != 0)
    errs << "warning: dot failed to render " << svg << ": " << errMsg << "\n";
}

/// The stage the requested output needs.
bool Compilation::needsFusion() const {
  if (o.noFusion)
    return false;
  return emit != Emit::TFM &&
         !(emit == Emit::Graph && o.graphStage == Stage::TFM);
}
bool Compilation::needsLowering() const {
  if (o.target == TargetKind::Vulkan)
    return false;
  return emit == Emit::Linalg || emit == Emit::LLVM || emit == Emit::Asm ||
         emit == Emit::Artifact || emit == Emit::Exe;
}
/// Every output after fusion but the fused IR and the graph is planned.
bool Compilation::needsPlan() const {
  return !(emit == Emit::TFM || emit == Emit::Fused || emit == Emit::Graph) &&
         o.passPipeline.empty();
}

/// Applies the caller's configuration and the IR dump to `pm`.
LogicalResult
Compilation::configure(PassManager &pm,
                       const std::shared_ptr<IRDumpDir> &dump) const {
  if (o.configurePassManager && !o.configurePassManager(pm))
    return failure();
  if (dump)
    dump->attach(pm);
  if (remarks)
    remarks->attach(pm);
  return success();
}

/// The storage type the weight dtype option asks for, for weight `w`.
Type Compilation::weightStorage(WeightOp w, const WeightStore &store) const {
  MLIRContext *ctx = w.getContext();
  switch (o.weightDType) {
  case WeightDType::F32:
    return Float32Type::get(ctx);
  case WeightDType::F16:
    return Float16Type::get(ctx);
  case WeightDType::BF16:
    return BFloat16Type::get(ctx);
  case WeightDType::Auto:
    break;
  }
  // A concatenation keeps the type its parts share.
  SmallVector<StringRef> names;
  if (std::optional<ArrayAttr> parts = w.getParts())
    for (Attribute p : *parts)
      names.push_back(cast<StringAttr>(p).getValue());
  else
    names.push_back(w.getName());
  std::optional<SafetensorsDType> common;
  for (StringRef n : names) {
    std::optional<SafetensorsDType> t = store.storedType(n);
    if (!t || (common && *common != *t))
      return Float32Type::get(ctx);
    common = t;
  }
  if (common == SafetensorsDType::F16)
    return Float16Type::get(ctx);
  if (common == SafetensorsDType::BF16)
    return BFloat16Type::get(ctx);
  return Float32Type::get(ctx);
}

/// Frontend IR -> the requested tfm or buffer-level stage.
LogicalResult Compilation::runPipeline(
    ModuleOp module, const CpuTarget *target, const VulkanTarget *vkTarget,
    const WeightStore &weights, const std::shared_ptr<IRDumpDir> &dump) const {
  PassManager pm(module.getContext());
  if (failed(configure(pm, dump)))
    return failure();
  if (!o.passPipeline.empty()) {
    // "builtin.module(...)" names the module the passes run on (as in
    // mlir-opt); anything else is nested in it ("func.func(cse)").
    if (StringRef(o.passPipeline).trim().starts_with("builtin.module(")) {
      FailureOr<OpPassManager> parsed = parsePassPipeline(o.passPipeline, errs);
      if (failed(parsed))
        return failure();
      static_cast<OpPassManager &>(pm) = *parsed;
    } else if (failed(parsePassPipeline(o.passPipeline, pm, errs))) {
      return failure();
    }
    return pm.run(module);
  }
  // The plugin insertion points (docs/writing-passes.md).
  auto addPasses = [&](const std::string &passes) {
    return success(passes.empty() ||
                   succeeded(parsePassPipeline(passes, pm, errs)));
  };
  if (failed(addPasses(o.passesBeforeFusion)))
    return failure();
  if (o.decompose) {
    DecomposePassOptions opts;
    opts.ops = {"softmax", "layer_norm", "rms_norm", "gelu", "silu", "rotary"};
    pm.addNestedPass<func::FuncOp>(createDecomposePass(opts));
  }
  if (needsFusion()) {
    FusionPipelineOptions opts;
    opts.remarks = o.fusionRemarks;
    opts.mergeQKV = !o.noMergeQKV;
    buildFusionPipeline(pm, opts);
  }
  if (failed(addPasses(o.passesAfterFusion)))
    return failure();
  // Quantized GEMM weights, after fusion (a merged projection is one
  // weight), before the storage types (which leave them alone).
  if (quantBits && emit != Emit::TFM &&
      !(emit == Emit::Graph && o.graphStage == Stage::TFM)) {
    QuantizeWeightsPassOptions qo;
    qo.bits = quantBits;
    qo.group = quantGroup;
    qo.skipLmHead = quantSkipLmHead;
    pm.addPass(createQuantizeWeightsPass(qo));
  }
  // Weight storage types, after fusion (so a merged projection is one
  // weight): GEMM and embedding matrices in the weight dtype.
  if (o.weightDType != WeightDType::F32 && emit != Emit::TFM &&
      !(emit == Emit::Graph && o.graphStage == Stage::TFM))
    pm.addPass(createConvertWeightsPass(
        [this, &weights](WeightOp w) { return weightStorage(w, weights); }));
  if (needsPlan()) {
    if (o.target == TargetKind::Vulkan) {
      PlanOptions opts = vulkanPlanOptions(*vkTarget);
      opts.maxPositions = o.maxPositions;
      buildPlanPipeline(pm, opts);
      // The SPIR-V kernels are generated from the planned module after
      // this pass manager.
      if (failed(addPasses(o.passesBeforeLowering)))
        return failure();
    } else {
      LowerToCPUPassOptions opts;
      opts.gemmKC = o.gemmKC.value_or(opts.gemmKC);
      opts.gemmMC = o.gemmMC.value_or(opts.gemmMC);
      opts.attentionBlockQ = o.attentionBlockQ.value_or(opts.attentionBlockQ);
      opts.attentionBlockK = o.attentionBlockK.value_or(opts.attentionBlockK);
      opts.vectorWidth = target->vectorWidth;
      opts.maxPositions = o.maxPositions;
      if (!o.maxPositions)
        if (ModelAttr model = getModelAttr(module))
          opts.maxPositions = model.getMaxSeqLen();
      bool ok = true;
      auto error = [&](const Twine &msg) {
        errs << "error: " << msg << "\n";
        ok = false;
      };
      if (failed(buildCpuPlanPipeline(pm, opts, error)) || !ok ||
          failed(addPasses(o.passesBeforeLowering)))
        return failure();
      if (needsLowering())
        buildCpuLowerPlanPipeline(pm, opts);
    }
  }
  return pm.run(module);
}

LogicalResult Compilation::run(MLIRContext &ctx, llvm::SourceMgr &sourceMgr) {
  // Without an emit kind, the output chooses: a text file name (.mlir, .ll,
  // .s, .dot) or an existing file such as /dev/null gets IR; anything else
  // is taken as the artifact directory.
  llvm::StringRef out = o.output;
  bool textOutput =
      out == "-" || out.ends_with(".mlir") || out.ends_with(".ll") ||
      out.ends_with(".s") || out.ends_with(".dot") ||
      (llvm::sys::fs::exists(out) && !llvm::sys::fs::is_directory(out));
  if (!o.emit && !textOutput)
    emit = Emit::Artifact;
  if ((emit == Emit::Artifact || emit == Emit::Exe) && o.output == "-") {
    errs << "error: --emit=artifact needs -o <directory>\n";
    return failure();
  }
  if (!o.passPipeline.empty() && emit != Emit::TFM && emit != Emit::Fused &&
      emit != Emit::Graph) {
    errs << "error: --pass-pipeline prints the IR its passes produce (stdout "
            "or -o FILE.mlir); artifacts and the later --emit stages come "
            "from tfmc's own pipeline, which --passes-before-fusion, "
            "--passes-after-fusion and --passes-before-lowering add passes "
            "to\n";
    return failure();
  }
  if (failed(parseQuantize()))
    return failure();
  bool vulkan = o.target == TargetKind::Vulkan;
  bool cpuOnly = emit == Emit::Linalg || emit == Emit::LLVM ||
                 emit == Emit::Asm || emit == Emit::Exe;
  if (vulkan && cpuOnly) {
    errs << "error: this --emit"
         << " is for --target=cpu; with --target=vulkan use "
            "--emit=glsl, --emit=spirv or an artifact directory\n";
    return failure();
  }
  if (!vulkan && (emit == Emit::GLSL || emit == Emit::SPIRV)) {
    errs << "error: --emit=glsl and --emit=spirv need --target=vulkan\n";
    return failure();
  }
  bool insertsPasses = !o.passesBeforeFusion.empty() ||
                       !o.passesAfterFusion.empty() ||
                       !o.passesBeforeLowering.empty();
  if (insertsPasses && !o.passPipeline.empty()) {
    errs << "error: --passes-before-fusion, --passes-after-fusion and "
            "--passes-before-lowering insert passes into tfmc's pipeline, "
            "which --pass-pipeline replaces\n";
    return failure();
  }
  if (!o.passesAfterFusion.empty() && !o.noFusion && !needsFusion()) {
    errs << "error: --passes-after-fusion runs on the fused module, which "
            "this --emit stage does not reach (use --emit=fused or later)\n";
    return failure();
  }
  if (!o.passesBeforeLowering.empty() && !needsPlan()) {
    errs << "error: --passes-before-lowering runs on the planned module, "
            "which this --emit stage does not reach (use --emit=plan or "
            "later)\n";
    return failure();
  }
  std::optional<VulkanTarget> vkTarget;
  if (vulkan) {
    auto t = resolveVulkanTarget(o.vulkanTarget);
    if (!t) {
      errs << "error: " << llvm::toString(t.takeError()) << "\n";
      return failure();
    }
    vkTarget = *t;
  }
  // The target is resolved first: an unknown CPU is reported before work.
  std::optional<CpuTarget> target;
  if (needsLowering() || (needsPlan() && !vulkan)) {
    auto t = resolveCpuTarget(o.cpu);
    if (!t) {
      errs << "error: " << llvm::toString(t.takeError()) << "\n";
      return failure();
    }
    target = std::move(*t);
  }

  ImportOptions opts;
  opts.batch = o.batch;
  std::optional<int64_t> seq = parseLength("seq-len", o.seqLen),
                         tgt = parseLength("target-seq-len", o.targetSeqLen);
  if (!seq || !tgt)
    return failure();
  opts.seqLen = *seq;
  opts.targetSeqLen = *tgt;
  opts.weightsFile = o.weights;
  opts.attentionEntries = o.attentionMaps;
  opts.randomSeed = o.randomSeed;
  FailureOr<ImportedModel> model = importModel(ctx, sourceMgr, o.input, opts);
  if (failed(model))
    return failure();
  ModuleOp module = *model->module;
  if (failed(verify(module)))
    return failure();
  std::shared_ptr<IRDumpDir> dump;
  if (!o.dumpIRDir.empty()) {
    auto d = IRDumpDir::create(module, o.dumpIRDir);
    if (failed(d))
      return failure();
    dump = *d;
  }
  if (failed(runPipeline(module, target ? &*target : nullptr,
                         vkTarget ? &*vkTarget : nullptr, *model->weights,
                         dump)))
    return failure();

  auto configurePM = [&](PassManager &pm) { return configure(pm, dump); };
  std::string text;
  llvm::raw_string_ostream os(text);
  switch (emit) {
  case Emit::TFM:
  case Emit::Fused:
  case Emit::Plan:
  case Emit::Linalg:
    module.print(os);
    break;
  case Emit::Graph:
    exportGraph(module, os);
    break;
  case Emit::LLVM:
  case Emit::Asm:
    if (llvm::Error e =
            emitCpuCode(module, *target, emit == Emit::Asm, os, configurePM)) {
      errs << "error: " << llvm::toString(std::move(e)) << "\n";
      return failure();
    }
    break;
  case Emit::GLSL:
  case Emit::SPIRV:
    if (llvm::Error e = emitVulkanText(
            module, *vkTarget,
            emit == Emit::GLSL ? VulkanText::GLSL : VulkanText::SPIRV, os)) {
      errs << "error: " << llvm::toString(std::move(e)) << "\n";
      return failure();
    }
    break;
  case Emit::Artifact:
  case Emit::Exe: {
    llvm::Error e =
        vulkan
            ? writeVulkanArtifact(module, *model->weights, *vkTarget, o.output)
            : writeCpuArtifact(module, *model->weights, *target, o.output,
                               configurePM, emit == Emit::Exe);
    if (e) {
      emitError(fileLoc(ctx, o.input)) << llvm::toString(std::move(e));
      return failure();
    }
    return success();
  }
  }
  if (failed(writeOutput(text)))
    return failure();
  if (emit == Emit::Graph && o.output != "-")
    renderSVG(o.output);
  return success();
}

bool driver::compile(const Options &options, std::string *diagnostics) {
  // lld, which writes CPU artifacts, keeps global state: one at a time.
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  registerPasses();
  std::string captured;
  llvm::raw_string_ostream capture(captured);
  llvm::raw_ostream &errs =
      diagnostics ? static_cast<llvm::raw_ostream &>(capture) : llvm::errs();

  DialectRegistry registry;
  registry.insert<TfmDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // The IR dump and the remark grouping follow one pass at a time.
  if (!options.dumpIRDir.empty() || options.fusionRemarks)
    ctx.disableMultithreading();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler sourceHandler(sourceMgr, &ctx, errs);
  ctx.getDiagEngine().registerHandler(
      [&errs](Diagnostic &d) { return printFileDiagnostic(d, errs); });
  std::optional<EntryRemarks> remarks;
  if (options.fusionRemarks)
    remarks.emplace(ctx);
  bool ok = succeeded(Compilation(options, errs, remarks ? &*remarks : nullptr)
                          .run(ctx, sourceMgr));
  if (remarks)
    remarks->flush();
  errs.flush();
  if (diagnostics)
    *diagnostics += captured;
  return ok;
}
