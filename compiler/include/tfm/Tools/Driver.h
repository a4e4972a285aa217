//===- Driver.h - compiling a model file, as a library ----------*- C++ -*-===//
//
// Part of tfmc. What `tfmc` does for one model, callable from any program:
// the CLI maps its flags onto Options, and the Python package calls it
// in-process. The header uses only the standard library (MLIR types stay in
// the implementation), so bindings built with other flags can include it.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TOOLS_DRIVER_H
#define TFM_TOOLS_DRIVER_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace mlir {
class PassManager;
} // namespace mlir

namespace mlir::tfm::driver {

/// What to produce: a stage's text, or an artifact directory.
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
/// The stage --emit=graph draws.
enum class Stage { TFM, Fused };
enum class TargetKind { CPU, Vulkan };
enum class WeightDType { F32, F16, BF16, Auto };

/// Every choice of one compilation; the defaults are tfmc's.
struct Options {
  // Input.
  std::string input;   // model.toml, a Hugging Face folder or a .mlir file
  std::string weights; // safetensors weights for a .mlir input
  std::optional<uint64_t> randomSeed;
  bool decompose = false;
  // Output. Without `emit`, `output` chooses: a text file name (.mlir, .ll,
  // .s, .dot), "-" or an existing file gets the fused IR; anything else is
  // the artifact directory.
  std::optional<Emit> emit;
  Stage graphStage = Stage::Fused;
  std::string output = "-";
  // Shapes: 0 / "" is the model's own choice; "dynamic" or a number.
  int64_t batch = 0;
  std::string seqLen, targetSeqLen;
  // Target.
  TargetKind target = TargetKind::CPU;
  std::string vulkanTarget = "lavapipe";
  std::string cpu = "native";
  WeightDType weightDType = WeightDType::F32;
  // "int8" or "int4", optionally ":GROUP" (default 32); "" for none. The
  // skip list names GEMMs kept in f32 ("lm_head").
  std::string quantize, quantizeSkip;
  bool noFusion = false;
  int64_t maxPositions = 0;
  // Kernel tuning (tfm-lower-to-cpu's options); unset: the pass defaults.
  std::optional<unsigned> gemmKC, gemmMC, attentionBlockQ, attentionBlockK;
  // Inspection.
  std::string dumpIRDir;
  bool fusionRemarks = false;
  bool attentionMaps = false;
  bool noMergeQKV = false;
  // Plugin insertion points: textual pass lists ("func.func(my-pass)") run
  // inside tfmc's pipeline, each at one stage.
  std::string passesBeforeFusion;   // frontend tfm, before recomposition
  std::string passesAfterFusion;    // fused tfm (--extra-passes)
  std::string passesBeforeLowering; // planned module, before the backend
  std::string passPipeline;         // instead of tfmc's pipeline
  /// Applied to every pass manager the compilation creates (the CLI applies
  /// MLIR's command-line options); false stops the compilation.
  std::function<bool(mlir::PassManager &)> configurePassManager;
};

/// Registers tfmc's passes and plan targets in MLIR's global registries
/// (once; later calls do nothing), so that textual pipelines can name them.
void registerPasses();

/// Runs one compilation. Diagnostics ("file:line:col: error: ..." with the
/// quoted line, as tfmc prints them) are appended to `diagnostics` when it is
/// given, else printed to stderr; text output for "-" goes to stdout.
/// Nothing is written to `output` unless the whole compilation succeeded.
/// Returns true on success. Calls from several threads are serialised (the
/// in-process linker keeps global state).
bool compile(const Options &options, std::string *diagnostics = nullptr);

} // namespace mlir::tfm::driver

#endif // TFM_TOOLS_DRIVER_H
