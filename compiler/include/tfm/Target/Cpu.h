//===- Cpu.h - the CPU backend: target, code generation, artifact -*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_CPU_H
#define TFM_TARGET_CPU_H

#include "tfm/Frontends/ModelSpec.h"
#include "tfm/Frontends/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mlir::tfm {

/// The machine code is generated for.
struct CpuTarget {
  std::string triple, cpu, features;
  unsigned vectorWidth = 4; ///< f32 lanes of the widest usable vectors
  /// CPU features the code may use that the runtime can check
  /// (__builtin_cpu_supports names).
  std::vector<std::string> requiredFeatures;
  std::unique_ptr<llvm::TargetMachine> machine;
};

/// `native` (the compiling host) or a named CPU (x86-64, x86-64-v2,
/// x86-64-v3, x86-64-v4, znver4, skylake-avx512, ...).
llvm::Expected<CpuTarget> resolveCpuTarget(llvm::StringRef cpu);

/// An input or output of an entry point.
struct TensorSpec {
  std::string name, dtype;
  std::vector<int64_t> shape;         ///< -1 for dynamic
  std::vector<std::string> dimNames;  ///< names of the dynamic dimensions
  int64_t idBound = 0;                ///< token ids must be in [0, idBound)
  bool state = false; ///< run-time state (a KV cache), updated in place
};

struct EntrySpec {
  std::string name;
  std::vector<TensorSpec> inputs, outputs;
  int64_t workspaceBytes = 0;
  std::vector<std::pair<std::string, int64_t>> dimBounds; ///< name, max
};

/// LLVM dialect -> optimised LLVM IR for `target`.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(ModuleOp module, llvm::LLVMContext &ctx, CpuTarget &target);

/// Object code or assembly of an optimised module.
llvm::Error emitMachineCode(llvm::Module &module, CpuTarget &target,
                            llvm::raw_pwrite_stream &os, bool assembly);

/// Links object files into a shared library with lld, in process.
llvm::Error linkSharedLibrary(llvm::ArrayRef<std::string> objects,
                              llvm::StringRef output);

/// Links a position-independent executable from `objects` and static
/// archives (C++ runtime, libomp and the C library from this machine's
/// toolchain), exporting every symbol so the runtime finds the entries.
llvm::Error linkExecutable(llvm::ArrayRef<std::string> inputs,
                           llvm::StringRef output);

/// Writes `dir`/weights.bin in the layout of the lowered module's weight plan
/// and returns its checksum.
llvm::Expected<uint64_t> writeWeights(ModuleOp lowered, WeightStore &weights,
                                      llvm::StringRef path);

/// Everything an artifact directory holds besides the weights.
struct ArtifactInfo {
  std::string family;
  std::vector<EntrySpec> entries;
  uint64_t weightsBytes = 0, weightsChecksum = 0;
  int64_t bosId = -1, eosId = -1, padId = -1, maxSeqLen = 0;
  TokenizerSource tokenizer;
};

/// Writes manifest.json; with `inlineTokenizer`, the tokenizer's files'
/// contents go into it (an executable's embedded manifest).
llvm::Error writeManifest(llvm::StringRef path, const CpuTarget &target,
                          const ArtifactInfo &info,
                          bool inlineTokenizer = false);

/// Sets up a pass manager the way the driver wants (MLIR command-line
/// options, IR dumps); may fail.
using ConfigurePassManager = std::function<LogicalResult(PassManager &)>;

/// The module after the CPU loops pipeline (buffers, kernels) as LLVM IR
/// (optimised) or as assembly, into `os`.
llvm::Error emitCpuCode(ModuleOp loops, CpuTarget &target, bool assembly,
                        llvm::raw_ostream &os,
                        const ConfigurePassManager &configure);

/// Lowers the module after the CPU loops pipeline to machine code and
/// writes the artifact directory `outDir` (model.so, weights.bin,
/// manifest.json) atomically: into a temporary directory renamed at the end,
/// so a failure leaves nothing behind. With `executable`, also `outDir`/model:
/// tfmc-run linked with the model's code, the weights and the manifest
/// appended (page aligned) and found through a trailer at the end.
llvm::Error writeCpuArtifact(ModuleOp loops, WeightStore &weights,
                             CpuTarget &target, llvm::StringRef outDir,
                             const ConfigurePassManager &configure,
                             bool executable = false);

/// The version of the artifact format this compiler writes (manifest.json
/// "version"), checked by the runtime.
inline constexpr int kArtifactVersion = 1;

} // namespace mlir::tfm

#endif // TFM_TARGET_CPU_H
