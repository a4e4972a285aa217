//===- Cpu.h - the CPU backend: target, code generation, artifact -*- C++
//-*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_CPU_H
#define TFM_TARGET_CPU_H

#include "tfm/Target/Artifact.h"

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
llvm::Error writeCpuArtifact(ModuleOp loops, const WeightSource &weights,
                             CpuTarget &target, llvm::StringRef outDir,
                             const ConfigurePassManager &configure,
                             bool executable = false);

} // namespace mlir::tfm

#endif // TFM_TARGET_CPU_H
