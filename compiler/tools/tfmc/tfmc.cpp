//===- tfmc.cpp - the tfmc compiler driver --------------------------------===//
//
// Part of tfmc. Reads a model (TOML, Hugging Face folder, .mlir), runs the
// pipeline up to the requested stage and prints that stage (--emit) or writes
// the artifact. Errors are reported once, located in the model file, and
// nothing is written to -o unless the whole compilation succeeded.
//
//===----------------------------------------------------------------------===//

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
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::tfm;
namespace cl = llvm::cl;

//===----------------------------------------------------------------------===//
// Options, grouped by purpose
//===----------------------------------------------------------------------===//

static cl::OptionCategory inputCat("Input");
static cl::OptionCategory outputCat("Output");
static cl::OptionCategory shapeCat("Shapes");
static cl::OptionCategory inspectCat("Inspection");
static cl::OptionCategory mlirCat("MLIR debugging (as in mlir-opt)");
static cl::OptionCategory targetCat("Target");

static cl::opt<std::string>
    inputPath(cl::Positional, cl::desc("<model.toml | hf-folder | file.mlir>"),
              cl::Required, cl::cat(inputCat));
static cl::opt<std::string>
    weightsFile("weights", cl::desc("Safetensors weights for a .mlir input"),
                cl::value_desc("file"), cl::cat(inputCat));
static cl::opt<uint64_t>
    randomSeed("random-weights",
               cl::desc("Seeded random weights for a .mlir input (default)"),
               cl::value_desc("seed"), cl::cat(inputCat));
static cl::opt<bool> decompose(
    "decompose",
    cl::desc("Expand softmax, norms, activations and rotary embeddings into "
             "primitives, as ONNX exporters do"),
    cl::cat(inputCat));

enum class Emit {
  TFM,
  Fused,
  Plan,
  Linalg,
  LLVM,
  Asm,
  Artifact,
  Exe,
  Graph,
  GLSL,
  SPIRV
};
static cl::opt<Emit> emit(
    "emit",
    cl::desc("What to produce (default: the artifact when -o names a "
             "directory, else the fused IR)"),
    cl::init(Emit::Fused),
    cl::values(clEnumValN(Emit::TFM, "tfm", "the frontend's primitive tfm IR"),
               clEnumValN(Emit::Fused, "fused",
                          "tfm IR after the fusion pipeline"),
               clEnumValN(Emit::Plan, "plan",
                          "fused IR planned for the target: entry ABIs, the "
                          "weight plan, copies and every buffer's place"),
               clEnumValN(Emit::Linalg, "linalg",
                          "kernels on buffers (loops, vectors, linalg)"),
               clEnumValN(Emit::LLVM, "llvm", "optimised LLVM IR"),
               clEnumValN(Emit::Asm, "asm", "target assembly"),
               clEnumValN(Emit::Artifact, "artifact",
                          "the artifact directory (-o): manifest.json, "
                          "weights.bin and model.so (CPU) or kernels.spv "
                          "(Vulkan)"),
               clEnumValN(Emit::Exe, "exe",
                          "the artifact directory plus DIR/model, a "
                          "standalone executable with the weights inside "
                          "(runs like tfmc-run)"),
               clEnumValN(Emit::Graph, "graph",
                          "a Graphviz DOT graph of the model at --graph-stage "
                          "(and an SVG next to -o when 'dot' is installed)"),
               clEnumValN(Emit::GLSL, "glsl",
                          "--target=vulkan: every kernel's GLSL, with the tfm "
                          "ops and model-file locations it came from"),
               clEnumValN(Emit::SPIRV, "spirv",
                          "--target=vulkan: every kernel's SPIR-V "
                          "disassembly")),
    cl::cat(outputCat));
enum class Stage { TFM, Fused };
static cl::opt<Stage>
    graphStage("graph-stage", cl::desc("Stage drawn by --emit=graph"),
               cl::init(Stage::Fused),
               cl::values(clEnumValN(Stage::TFM, "tfm", "the frontend's IR"),
                          clEnumValN(Stage::Fused, "fused", "after fusion")),
               cl::cat(outputCat));
static cl::opt<std::string> outputPath("o",
                                       cl::desc("Output file ('-' for stdout)"),
                                       cl::value_desc("path"), cl::init("-"),
                                       cl::cat(outputCat));

static cl::opt<int64_t> batch("batch", cl::desc("Batch size to compile for"),
                              cl::init(0), cl::cat(shapeCat));
static cl::opt<std::string>
    seqLen("seq-len",
           cl::desc("Sequence length to compile for, or 'dynamic' (any "
                    "length up to the model's maximum, chosen at run time; "
                    "the default unless the model file fixes one)"),
           cl::value_desc("N|dynamic"), cl::cat(shapeCat));
static cl::opt<std::string> targetSeqLen(
    "target-seq-len",
    cl::desc("Decoder sequence length of an encoder-decoder model, or "
             "'dynamic'"),
    cl::value_desc("N|dynamic"), cl::cat(shapeCat));

/// Parses a length option: "" (not given) is 0, "dynamic" is
/// ModelSpec::kDynamicLength.
static std::optional<int64_t> parseLength(const cl::opt<std::string> &opt) {
  StringRef v = opt.getValue();
  if (v.empty())
    return 0;
  if (v == "dynamic")
    return ModelSpec::kDynamicLength;
  int64_t n;
  if (v.getAsInteger(10, n) || n < 1) {
    llvm::errs() << "error: --" << opt.ArgStr
                 << " expects a positive integer or 'dynamic', got '" << v
                 << "'\n";
    return std::nullopt;
  }
  return n;
}

enum class TargetKind { CPU, Vulkan };
static cl::opt<TargetKind> targetKind(
    "target", cl::desc("Code generation target"), cl::init(TargetKind::CPU),
    cl::values(clEnumValN(TargetKind::CPU, "cpu", "x86-64 code through LLVM"),
               clEnumValN(TargetKind::Vulkan, "vulkan",
                          "Vulkan compute shaders (SPIR-V)")),
    cl::cat(targetCat));
static cl::opt<std::string> vulkanTarget(
    "vulkan-target",
    cl::desc("Device class Vulkan kernels are tuned for: lavapipe (Mesa's "
             "CPU device) or nvidia"),
    cl::init("lavapipe"), cl::cat(targetCat));
static cl::opt<std::string> cpuName(
    "cpu",
    cl::desc("CPU to generate code for: native (this machine) or a name such "
             "as x86-64-v3, x86-64-v4, znver4"),
    cl::init("native"), cl::cat(targetCat));
enum class WeightDType { F32, F16, BF16, Auto };
static cl::opt<WeightDType> weightDType(
    "weight-dtype",
    cl::desc("Storage type of the GEMM and embedding weights (arithmetic "
             "stays f32; vectors such as biases and norm scales stay f32)"),
    cl::init(WeightDType::F32),
    cl::values(clEnumValN(WeightDType::F32, "f32", "4 bytes per weight"),
               clEnumValN(WeightDType::F16, "f16",
                          "IEEE half precision, rounded to nearest even"),
               clEnumValN(WeightDType::BF16, "bf16",
                          "bfloat16, rounded to nearest even"),
               clEnumValN(WeightDType::Auto, "auto",
                          "as the checkpoint stores them (F16/BF16 tensors "
                          "keep their type, everything else f32)")),
    cl::cat(targetCat));
static cl::opt<bool> noFusion(
    "no-fusion",
    cl::desc("Lower the primitive IR without the fusion pipeline (reference)"),
    cl::cat(targetCat));
static cl::opt<int64_t> maxPositions(
    "max-positions",
    cl::desc("Rows of precomputed positional tables (default: the model's "
             "maximum sequence length)"),
    cl::init(0), cl::cat(targetCat));
// Kernel tuning knobs, hidden from --help: tfm-lower-to-cpu's options,
// whose defaults (and help) are declared once in Passes.td.
static const LowerToCPUPassOptions kCpuDefaults;
static cl::opt<unsigned> gemmKC("gemm-kc", cl::desc("GEMM K block"),
                                cl::init(kCpuDefaults.gemmKC), cl::Hidden,
                                cl::cat(targetCat));
static cl::opt<unsigned> gemmMC("gemm-mc", cl::desc("GEMM rows per work item"),
                                cl::init(kCpuDefaults.gemmMC), cl::Hidden,
                                cl::cat(targetCat));
static cl::opt<unsigned> attentionBQ("attention-block-q",
                                     cl::desc("Queries per attention item"),
                                     cl::init(kCpuDefaults.attentionBlockQ),
                                     cl::Hidden, cl::cat(targetCat));
static cl::opt<unsigned> attentionBK("attention-block-k",
                                     cl::desc("Keys per attention block"),
                                     cl::init(kCpuDefaults.attentionBlockK),
                                     cl::Hidden, cl::cat(targetCat));

static cl::opt<std::string> dumpIRDir(
    "dump-ir-dir",
    cl::desc("Write the IR after every pass into numbered files in this "
             "directory"),
    cl::value_desc("dir"), cl::cat(inspectCat));
static cl::opt<bool> fusionRemarks(
    "fusion-remarks",
    cl::desc("Report every fusion candidate: fused into what, or why not"),
    cl::cat(inspectCat));
static cl::opt<bool> attentionMaps(
    "attention-maps",
    cl::desc("Also compile debug entries that return every layer's attention "
             "probabilities (forward_attention / decode_attention; unfused "
             "attention, O(seq^2) memory) for tfmc-run --dump-attention"),
    cl::cat(inspectCat));
static cl::opt<bool>
    noMergeQKV("no-merge-qkv",
               cl::desc("Keep Q/K/V projections as separate linears"),
               cl::cat(inspectCat));
static cl::list<std::string> passPlugins(
    "load-pass-plugin",
    cl::desc("Load a pass plugin; its passes can be used in --pass-pipeline "
             "and --extra-passes"),
    cl::value_desc("lib.so"), cl::cat(inspectCat));
static cl::opt<std::string> extraPasses(
    "extra-passes",
    cl::desc("Textual passes appended after tfmc's fusion pipeline, e.g. "
             "'func.func(my-pass)'"),
    cl::value_desc("passes"), cl::cat(inspectCat));
static cl::opt<std::string> passPipeline(
    "pass-pipeline",
    cl::desc("Run this textual pass pipeline on the frontend's IR instead of "
             "tfmc's own pipeline, and print the result"),
    cl::value_desc("pipeline"), cl::cat(inspectCat));

/// MLIR's own flags that users know from mlir-opt, shown in --help.
static void exposeMLIRFlags() {
  auto &opts = cl::getRegisteredOptions();
  for (StringRef name :
       {"mlir-print-ir-after-all", "mlir-print-ir-before-all",
        "mlir-print-ir-after-failure", "mlir-print-ir-after-change",
        "mlir-print-ir-module-scope", "mlir-timing", "mlir-timing-display",
        "mlir-print-debuginfo", "mlir-pretty-debuginfo",
        "mlir-disable-threading", "mlir-print-op-generic"}) {
    auto it = opts.find(name);
    if (it != opts.end())
      it->second->addCategory(mlirCat);
  }
  cl::HideUnrelatedOptions(
      {&inputCat, &outputCat, &shapeCat, &inspectCat, &mlirCat, &targetCat});
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
static LogicalResult printFileDiagnostic(Diagnostic &diag) {
  std::optional<FileLineColLoc> f = findFileLoc(diag.getLocation());
  if (!f || f->getLine() != 0)
    return failure();
  llvm::errs() << f->getFilename().getValue() << ": "
               << (diag.getSeverity() == DiagnosticSeverity::Error ? "error"
                   : diag.getSeverity() == DiagnosticSeverity::Warning
                       ? "warning"
                       : "note")
               << ": " << diag << "\n";
  for (Diagnostic &note : diag.getNotes())
    llvm::errs() << "note: " << note << "\n";
  return success();
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

/// Writes `text` to -o atomically (a temporary renamed on success).
static LogicalResult writeOutput(StringRef text) {
  if (outputPath == "-") {
    llvm::outs() << text;
    return success();
  }
  std::string err;
  auto out = openOutputFile(outputPath, &err);
  if (!out) {
    llvm::errs() << outputPath << ": error: " << err << "\n";
    return failure();
  }
  out->os() << text;
  out->keep();
  return success();
}

/// Renders `dotPath` to SVG next to it when Graphviz is installed.
static void renderSVG(StringRef dotPath) {
  llvm::ErrorOr<std::string> dot = llvm::sys::findProgramByName("dot");
  if (!dot) {
    llvm::errs() << "note: 'dot' (Graphviz) not found; wrote only " << dotPath
                 << "\n";
    return;
  }
  std::string svg = (llvm::sys::path::parent_path(dotPath).empty()
                         ? llvm::sys::path::stem(dotPath)
                         : (llvm::sys::path::parent_path(dotPath) + "/" +
                            llvm::sys::path::stem(dotPath)))
                        .str() +
                    ".svg";
  std::string errMsg;
  int rc = llvm::sys::ExecuteAndWait(*dot, {*dot, "-Tsvg", dotPath, "-o", svg},
                                     std::nullopt, {}, 0, 0, &errMsg);
  if (rc != 0)
    llvm::errs() << "warning: dot failed to render " << svg << ": " << errMsg
                 << "\n";
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// The stage the requested output needs.
static bool needsFusion() {
  if (noFusion)
    return false;
  return emit != Emit::TFM &&
         !(emit == Emit::Graph && graphStage == Stage::TFM);
}
static bool needsLowering() {
  if (targetKind == TargetKind::Vulkan)
    return false;
  return emit == Emit::Linalg || emit == Emit::LLVM || emit == Emit::Asm ||
         emit == Emit::Artifact || emit == Emit::Exe;
}
/// Every output after fusion but the fused IR and the graph is planned.
static bool needsPlan() {
  return !(emit == Emit::TFM || emit == Emit::Fused || emit == Emit::Graph) &&
         passPipeline.empty();
}

/// Applies the MLIR command-line options and the IR dump to `pm`.
static LogicalResult configure(PassManager &pm,
                               const std::shared_ptr<IRDumpDir> &dump) {
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  applyDefaultTimingPassManagerCLOptions(pm);
  if (dump)
    dump->attach(pm);
  return success();
}

/// Frontend IR -> the requested tfm or buffer-level stage.
/// The storage type --weight-dtype asks for, for weight `w`.
static Type weightStorage(WeightOp w, const WeightStore &store) {
  MLIRContext *ctx = w.getContext();
  switch (weightDType) {
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

static LogicalResult runPipeline(ModuleOp module, const CpuTarget *target,
                                 const VulkanTarget *vkTarget,
                                 const WeightStore &weights,
                                 const std::shared_ptr<IRDumpDir> &dump) {
  PassManager pm(module.getContext());
  if (failed(configure(pm, dump)))
    return failure();
  if (!passPipeline.empty())
    return failure(failed(parsePassPipeline(passPipeline, pm, llvm::errs())) ||
                   failed(pm.run(module)));
  if (decompose) {
    DecomposePassOptions opts;
    opts.ops = {"softmax", "layer_norm", "rms_norm", "gelu", "silu", "rotary"};
    pm.addNestedPass<func::FuncOp>(createDecomposePass(opts));
  }
  if (needsFusion()) {
    FusionPipelineOptions opts;
    opts.remarks = fusionRemarks;
    opts.mergeQKV = !noMergeQKV;
    buildFusionPipeline(pm, opts);
  }
  if (!extraPasses.empty() &&
      failed(parsePassPipeline(extraPasses, pm, llvm::errs())))
    return failure();
  // Weight storage types, after fusion (so a merged projection is one
  // weight): GEMM and embedding matrices in --weight-dtype.
  if (weightDType != WeightDType::F32 && emit != Emit::TFM &&
      !(emit == Emit::Graph && graphStage == Stage::TFM))
    pm.addPass(createConvertWeightsPass(
        [&weights](WeightOp w) { return weightStorage(w, weights); }));
  if (needsPlan()) {
    if (targetKind == TargetKind::Vulkan) {
      PlanOptions opts = vulkanPlanOptions(*vkTarget);
      opts.maxPositions = maxPositions;
      buildPlanPipeline(pm, opts);
    } else {
      LowerToCPUPassOptions opts;
      opts.gemmKC = gemmKC;
      opts.gemmMC = gemmMC;
      opts.attentionBlockQ = attentionBQ;
      opts.attentionBlockK = attentionBK;
      opts.vectorWidth = target->vectorWidth;
      opts.maxPositions = maxPositions;
      if (!maxPositions)
        if (ModelAttr model = getModelAttr(module))
          opts.maxPositions = model.getMaxSeqLen();
      bool ok = true;
      auto error = [&](const Twine &msg) {
        llvm::errs() << "error: " << msg << "\n";
        ok = false;
      };
      if (needsLowering()
              ? failed(buildCpuLoopsPipeline(pm, opts, error))
              : failed(buildCpuPlanPipeline(pm, opts, error)) || !ok)
        return failure();
    }
  }
  return pm.run(module);
}

static LogicalResult compile(MLIRContext &ctx, llvm::SourceMgr &sourceMgr) {
  // Without --emit, -o chooses: a text file name (.mlir, .ll, .s, .dot) or
  // an existing file such as /dev/null gets IR; anything else is taken as
  // the artifact directory.
  StringRef out = outputPath;
  bool textOutput =
      out == "-" || out.ends_with(".mlir") || out.ends_with(".ll") ||
      out.ends_with(".s") || out.ends_with(".dot") ||
      (llvm::sys::fs::exists(out) && !llvm::sys::fs::is_directory(out));
  if (!emit.getNumOccurrences() && !textOutput)
    emit = Emit::Artifact;
  if ((emit == Emit::Artifact || emit == Emit::Exe) && outputPath == "-") {
    llvm::errs() << "error: --emit=artifact needs -o <directory>\n";
    return failure();
  }
  bool vulkan = targetKind == TargetKind::Vulkan;
  bool cpuOnly = emit == Emit::Linalg || emit == Emit::LLVM ||
                 emit == Emit::Asm || emit == Emit::Exe;
  if (vulkan && cpuOnly) {
    llvm::errs() << "error: this --emit"
                 << " is for --target=cpu; with --target=vulkan use "
                    "--emit=glsl, --emit=spirv or an artifact directory\n";
    return failure();
  }
  if (!vulkan && (emit == Emit::GLSL || emit == Emit::SPIRV)) {
    llvm::errs() << "error: --emit=glsl and --emit=spirv need "
                    "--target=vulkan\n";
    return failure();
  }
  std::optional<VulkanTarget> vkTarget;
  if (vulkan) {
    auto t = resolveVulkanTarget(vulkanTarget);
    if (!t) {
      llvm::errs() << "error: " << llvm::toString(t.takeError()) << "\n";
      return failure();
    }
    vkTarget = *t;
  }
  // The target is resolved first: an unknown CPU is reported before work.
  std::optional<CpuTarget> target;
  if (needsLowering() || (needsPlan() && !vulkan)) {
    auto t = resolveCpuTarget(cpuName);
    if (!t) {
      llvm::errs() << "error: " << llvm::toString(t.takeError()) << "\n";
      return failure();
    }
    target = std::move(*t);
  }

  ImportOptions opts;
  opts.batch = batch;
  std::optional<int64_t> seq = parseLength(seqLen),
                         tgt = parseLength(targetSeqLen);
  if (!seq || !tgt)
    return failure();
  opts.seqLen = *seq;
  opts.targetSeqLen = *tgt;
  opts.weightsFile = weightsFile;
  opts.attentionEntries = attentionMaps;
  if (randomSeed.getNumOccurrences())
    opts.randomSeed = randomSeed;
  FailureOr<ImportedModel> model = importModel(ctx, sourceMgr, inputPath, opts);
  if (failed(model))
    return failure();
  ModuleOp module = *model->module;
  if (failed(verify(module)))
    return failure();
  std::shared_ptr<IRDumpDir> dump;
  if (!dumpIRDir.empty()) {
    auto d = IRDumpDir::create(module, dumpIRDir);
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
      llvm::errs() << "error: " << llvm::toString(std::move(e)) << "\n";
      return failure();
    }
    break;
  case Emit::GLSL:
  case Emit::SPIRV:
    if (llvm::Error e = emitVulkanText(
            module, *vkTarget,
            emit == Emit::GLSL ? VulkanText::GLSL : VulkanText::SPIRV, os)) {
      llvm::errs() << "error: " << llvm::toString(std::move(e)) << "\n";
      return failure();
    }
    break;
  case Emit::Artifact:
  case Emit::Exe: {
    if (vulkan) {
      const std::string out = outputPath, in = inputPath;
      if (llvm::Error e =
              writeVulkanArtifact(module, *model->weights, *vkTarget, out)) {
        emitError(fileLoc(ctx, in)) << llvm::toString(std::move(e));
        return failure();
      }
      return success();
    }
    // lld (run by the backend) resets LLVM's command-line options: keep
    // copies of the values still needed.
    const std::string out = outputPath, in = inputPath;
    if (llvm::Error e = writeCpuArtifact(module, *model->weights, *target, out,
                                         configurePM, emit == Emit::Exe)) {
      emitError(fileLoc(ctx, in)) << llvm::toString(std::move(e));
      return failure();
    }
    return success();
  }
  }
  if (failed(writeOutput(text)))
    return failure();
  if (emit == Emit::Graph && outputPath != "-")
    renderSVG(outputPath);
  return success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerDefaultTimingManagerCLOptions();
  tfm::registerTfmPasses();
  tfm::registerTfmPlanPasses();
  tfm::registerCpuPlanTarget();
  tfm::registerVulkanPlanTarget();
  registerCanonicalizerPass();
  registerCSEPass();
  exposeMLIRFlags();
  cl::ParseCommandLineOptions(
      argc, argv,
      "tfmc: ahead-of-time compiler for transformer models\n\n"
      "  tfmc model.toml -o out/             compile to an artifact for "
      "tfmc-run\n"
      "  tfmc model.toml --emit=tfm          print the frontend's IR\n"
      "  tfmc model.toml --fusion-remarks    fused IR, and why each fusion "
      "did or did not happen\n"
      "  tfmc hf-folder/ --emit=graph -o g.dot\n");

  for (const std::string &path : passPlugins) {
    llvm::Expected<PassPlugin> plugin = PassPlugin::load(path);
    if (!plugin) {
      llvm::errs() << path << ": error: cannot load pass plugin: "
                   << llvm::toString(plugin.takeError()) << "\n";
      return 1;
    }
    plugin->registerPassRegistryCallbacks();
  }

  DialectRegistry registry;
  registry.insert<TfmDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  if (!dumpIRDir.empty())
    ctx.disableMultithreading();

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler sourceHandler(sourceMgr, &ctx);
  ctx.getDiagEngine().registerHandler(printFileDiagnostic);
  return failed(compile(ctx, sourceMgr)) ? 1 : 0;
}
