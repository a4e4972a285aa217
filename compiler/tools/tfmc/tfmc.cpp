//===- tfmc.cpp - the tfmc compiler driver --------------------------------===//
//
// Part of tfmc. Reads a model (TOML, Hugging Face folder, .mlir), runs the
// pipeline up to the requested stage and prints that stage (--emit) or writes
// the artifact. Errors are reported once, located in the model file, and
// nothing is written to -o unless the whole compilation succeeded.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Frontends.h"
#include "tfm/IR/TfmDialect.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Tools/Inspect.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
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
#include "mlir/Support/FileUtilities.h"

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

static cl::opt<std::string>
    inputPath(cl::Positional, cl::desc("<model.toml | hf-folder | file.mlir>"),
              cl::Required, cl::cat(inputCat));
static cl::opt<std::string>
    weightsFile("weights",
                cl::desc("Safetensors weights for a .mlir input"),
                cl::value_desc("file"), cl::cat(inputCat));
static cl::opt<uint64_t>
    randomSeed("random-weights",
               cl::desc("Seeded random weights for a .mlir input (default)"),
               cl::value_desc("seed"), cl::cat(inputCat));
static cl::opt<bool> decompose(
    "decompose",
    cl::desc("Expand softmax, norms and activations into primitives, as ONNX "
             "exporters do"),
    cl::cat(inputCat));

enum class Emit { TFM, Fused, Graph };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Fused),
    cl::values(clEnumValN(Emit::TFM, "tfm", "the frontend's primitive tfm IR"),
               clEnumValN(Emit::Fused, "fused",
                          "tfm IR after the fusion pipeline"),
               clEnumValN(Emit::Graph, "graph",
                          "a Graphviz DOT graph of the model at --graph-stage "
                          "(and an SVG next to -o when 'dot' is installed)")),
    cl::cat(outputCat));
enum class Stage { TFM, Fused };
static cl::opt<Stage> graphStage(
    "graph-stage", cl::desc("Stage drawn by --emit=graph"),
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
static cl::opt<int64_t>
    seqLen("seq-len",
           cl::desc("Sequence length to compile for (default: the model "
                    "file's)"),
           cl::init(0), cl::cat(shapeCat));
static cl::opt<int64_t> targetSeqLen(
    "target-seq-len",
    cl::desc("Decoder sequence length of an encoder-decoder model"),
    cl::init(0), cl::cat(shapeCat));

static cl::opt<std::string> dumpIRDir(
    "dump-ir-dir",
    cl::desc("Write the IR after every pass into numbered files in this "
             "directory"),
    cl::value_desc("dir"), cl::cat(inspectCat));
static cl::opt<bool> fusionRemarks(
    "fusion-remarks",
    cl::desc("Report every fusion candidate: fused into what, or why not"),
    cl::cat(inspectCat));
static cl::opt<bool> noMergeQKV(
    "no-merge-qkv", cl::desc("Keep Q/K/V projections as separate linears"),
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
  cl::HideUnrelatedOptions({&inputCat, &outputCat, &shapeCat, &inspectCat,
                            &mlirCat});
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

static LogicalResult runPipeline(MLIRContext &ctx, ModuleOp module) {
  PassManager pm(&ctx);
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  applyDefaultTimingPassManagerCLOptions(pm);
  if (!passPipeline.empty()) {
    if (failed(parsePassPipeline(passPipeline, pm, llvm::errs())))
      return failure();
  } else {
    if (decompose) {
      DecomposePassOptions opts;
      opts.ops = {"softmax", "layer_norm", "rms_norm", "gelu", "silu"};
      pm.addNestedPass<func::FuncOp>(createDecomposePass(opts));
    }
    bool fuse = emit == Emit::Fused ||
                (emit == Emit::Graph && graphStage == Stage::Fused);
    if (fuse) {
      FusionPipelineOptions opts;
      opts.remarks = fusionRemarks;
      opts.mergeQKV = !noMergeQKV;
      buildFusionPipeline(pm, opts);
    }
    if (!extraPasses.empty() &&
        failed(parsePassPipeline(extraPasses, pm, llvm::errs())))
      return failure();
  }
  if (!dumpIRDir.empty() &&
      failed(enableIRDumpDir(pm, module, dumpIRDir)))
    return failure();
  return pm.run(module);
}

static LogicalResult compile(MLIRContext &ctx, llvm::SourceMgr &sourceMgr) {
  ImportOptions opts;
  opts.batch = batch;
  opts.seqLen = seqLen;
  opts.targetSeqLen = targetSeqLen;
  opts.weightsFile = weightsFile;
  if (randomSeed.getNumOccurrences())
    opts.randomSeed = randomSeed;
  FailureOr<ImportedModel> model =
      importModel(ctx, sourceMgr, inputPath, opts);
  if (failed(model))
    return failure();
  ModuleOp module = *model->module;
  if (failed(verify(module)) || failed(runPipeline(ctx, module)))
    return failure();

  std::string text;
  llvm::raw_string_ostream os(text);
  switch (emit) {
  case Emit::TFM:
  case Emit::Fused:
    module.print(os);
    break;
  case Emit::Graph:
    exportGraph(module, os);
    break;
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
  registerCanonicalizerPass();
  registerCSEPass();
  exposeMLIRFlags();
  cl::ParseCommandLineOptions(
      argc, argv,
      "tfmc: ahead-of-time compiler for transformer models\n\n"
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
