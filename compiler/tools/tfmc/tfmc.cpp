//===- tfmc.cpp - the tfmc compiler driver --------------------------------===//
//
// Part of tfmc. The command line of the compiler: maps its flags onto
// driver::Options (tfm/Tools/Driver.h, which does the work) and adds what
// only a command line has: MLIR's debugging flags and pass plugins.
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/CpuTarget.h"
#include "tfm/Target/Artifact.h"
#include "tfm/Tools/Driver.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

using namespace mlir;
using namespace mlir::tfm;
using namespace mlir::tfm::driver;
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
             "primitives, as ONNX exporters do (see them with --emit=tfm; "
             "the fusion pipeline recomposes them)"),
    cl::cat(inputCat));

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
static cl::opt<std::string> quantize(
    "quantize",
    cl::desc("GEMM weights as int8 or int4 codes with one f32 scale per "
             "output feature and GROUP elements of K (default 32), "
             "dequantized in registers: int8|int4[:GROUP] (CPU)"),
    cl::value_desc("mode"), cl::cat(targetCat));
static cl::opt<std::string> quantizeSkip(
    "quantize-skip",
    cl::desc("With --quantize: GEMMs kept in f32, comma-separated: lm_head "
             "(the linear whose result is returned)"),
    cl::value_desc("list"), cl::cat(targetCat));
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
             "and --passes-before-fusion/-after-fusion/-before-lowering"),
    cl::value_desc("lib.so"), cl::cat(inspectCat));
static cl::opt<std::string> passesBeforeFusion(
    "passes-before-fusion",
    cl::desc("Textual passes run on the frontend's tfm before recomposition "
             "and fusion, e.g. 'func.func(my-pass)'"),
    cl::value_desc("passes"), cl::cat(inspectCat));
static cl::opt<std::string> passesAfterFusion(
    "passes-after-fusion",
    cl::desc("Textual passes run on the fused tfm, before weight conversion "
             "and planning"),
    cl::value_desc("passes"), cl::cat(inspectCat));
static cl::alias extraPasses("extra-passes",
                             cl::desc("Alias for --passes-after-fusion"),
                             cl::aliasopt(passesAfterFusion),
                             cl::cat(inspectCat));
static cl::opt<std::string> passesBeforeLowering(
    "passes-before-lowering",
    cl::desc("Textual passes run on the planned module, before the backend "
             "lowers it to kernels (--emit=plan or later)"),
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
// Driver
//===----------------------------------------------------------------------===//

/// The flags as driver options.
static Options options() {
  Options o;
  o.input = inputPath;
  o.weights = weightsFile;
  if (randomSeed.getNumOccurrences())
    o.randomSeed = randomSeed;
  o.decompose = decompose;
  if (emit.getNumOccurrences())
    o.emit = emit;
  o.graphStage = graphStage;
  o.output = outputPath;
  o.batch = batch;
  o.seqLen = seqLen;
  o.targetSeqLen = targetSeqLen;
  o.target = targetKind;
  o.vulkanTarget = vulkanTarget;
  o.cpu = cpuName;
  o.weightDType = weightDType;
  o.quantize = quantize;
  o.quantizeSkip = quantizeSkip;
  o.noFusion = noFusion;
  o.maxPositions = maxPositions;
  o.gemmKC = gemmKC;
  o.gemmMC = gemmMC;
  o.attentionBlockQ = attentionBQ;
  o.attentionBlockK = attentionBK;
  o.dumpIRDir = dumpIRDir;
  o.fusionRemarks = fusionRemarks;
  o.attentionMaps = attentionMaps;
  o.noMergeQKV = noMergeQKV;
  o.passesBeforeFusion = passesBeforeFusion;
  o.passesAfterFusion = passesAfterFusion;
  o.passesBeforeLowering = passesBeforeLowering;
  o.passPipeline = passPipeline;
  o.configurePassManager = [](PassManager &pm) {
    if (failed(applyPassManagerCLOptions(pm)))
      return false;
    applyDefaultTimingPassManagerCLOptions(pm);
    return true;
  };
  return o;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Ctrl-C or a kill during a compile leaves no DIR.tmp-<pid>/ behind.
  mlir::tfm::enableArtifactInterruptCleanup();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerDefaultTimingManagerCLOptions();
  driver::registerPasses();
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

  return compile(options()) ? 0 : 1;
}
