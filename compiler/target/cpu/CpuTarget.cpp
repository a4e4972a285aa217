//===- CpuTarget.cpp - target selection, LLVM code generation, linking ----===//
//
// Part of tfmc. Everything runs in process: LLVM's TargetMachine for O3 and
// object code, lld as a library for the shared object.
//
//===----------------------------------------------------------------------===//

#include "tfm/Target/Cpu.h"

#include "tfmc/cpu_features.h"

#include "lld/Common/Driver.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

LLD_HAS_DRIVER(elf)

using namespace mlir;
using namespace mlir::tfm;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

llvm::Expected<CpuTarget> mlir::tfm::resolveCpuTarget(llvm::StringRef cpu) {
  static std::once_flag init;
  std::call_once(init, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
  CpuTarget t;
  t.triple = llvm::sys::getProcessTriple();
  llvm::Triple triple(t.triple);
  if (triple.getArch() != llvm::Triple::x86_64)
    return error("the CPU backend generates x86-64 code; this host is " +
                 t.triple);
  if (cpu == "native") {
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::SmallVector<std::string> fs;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      fs.push_back((f.second ? "+" : "-") + f.first().str());
    llvm::sort(fs);
    t.features = llvm::join(fs, ",");
  } else {
    t.cpu = cpu.str();
  }
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return error("no LLVM target for " + t.triple + ": " + err);
  // Validate the name first: LLVM only warns about unknown CPUs.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!generic || !generic->isCPUStringValid(t.cpu))
    return error("unknown CPU '" + cpu +
                 "' (use native, x86-64, x86-64-v2, x86-64-v3, x86-64-v4 or "
                 "an LLVM CPU name such as znver4 or skylake-avx512)");
  llvm::TargetOptions options;
  t.machine.reset(target->createTargetMachine(
      triple, t.cpu, t.features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!t.machine)
    return error("cannot create a target machine for CPU '" + t.cpu + "'");
  const llvm::MCSubtargetInfo *probe = t.machine->getMCSubtargetInfo();
  auto has = [&](llvm::StringRef f) {
    return probe->checkFeatures(("+" + f).str());
  };
#define TFMC_ADD_FEATURE(name)                                                 \
  if (has(name))                                                               \
    t.requiredFeatures.push_back(name);
  TFMC_X86_FEATURES(TFMC_ADD_FEATURE)
#undef TFMC_ADD_FEATURE
  t.vectorWidth = has("avx512f") ? 16 : has("avx2") && has("fma") ? 8 : 4;
  return std::move(t);
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::tfm::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &ctx,
                             CpuTarget &target) {
  MLIRContext *mctx = module.getContext();
  registerBuiltinDialectTranslation(*mctx);
  registerLLVMDialectTranslation(*mctx);
  registerOpenMPDialectTranslation(*mctx);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, ctx, "tfmc-model");
  if (!llvmModule)
    return error("translation to LLVM IR failed");
  llvmModule->setTargetTriple(llvm::Triple(target.triple));
  llvmModule->setDataLayout(target.machine->createDataLayout());
  // Every function may use the target's features (for inlining and
  // vectorisation decisions).
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty())
      f.addFnAttr("target-features", target.features);
  }
  // The C ABI (tfmc_<entry>, tfmc_<entry>_signature) is all model.so
  // exports; kernels and entry bodies are hidden, so that nothing else can
  // bind to them (or clash with another model loaded in the process).
  for (llvm::GlobalValue &g : llvmModule->global_values())
    if (!g.isDeclaration() && !g.hasLocalLinkage() &&
        !g.getName().starts_with("tfmc_"))
      g.setVisibility(llvm::GlobalValue::HiddenVisibility);

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(target.machine.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return std::move(llvmModule);
}

llvm::Error mlir::tfm::emitMachineCode(llvm::Module &module, CpuTarget &target,
                                       llvm::raw_pwrite_stream &os,
                                       bool assembly) {
  llvm::legacy::PassManager pm;
  if (target.machine->addPassesToEmitFile(
          pm, os, nullptr,
          assembly ? llvm::CodeGenFileType::AssemblyFile
                   : llvm::CodeGenFileType::ObjectFile))
    return error("the target cannot emit this file type");
  pm.run(module);
  return llvm::Error::success();
}

/// Runs lld in process. lld keeps global state, and resets LLVM's
/// command-line options (callers must not rely on cl::opt values after it).
static llvm::Error runLld(const std::vector<std::string> &args,
                          llvm::StringRef what) {
  std::vector<const char *> argv;
  for (const std::string &a : args)
    argv.push_back(a.c_str());
  // One thread: lld's worker threads keep per-thread state from one link
  // to the next, and a second link in the same process (the Python
  // package compiles many models) crashed in its parallel relocation scan.
  argv.push_back("--threads=1");
  std::string out, err;
  llvm::raw_string_ostream outS(out), errS(err);
  static std::mutex lldMutex;
  std::lock_guard<std::mutex> lock(lldMutex);
  lld::Result r = lld::lldMain(argv, outS, errS, {{lld::Gnu, &lld::elf::link}});
  if (r.retCode != 0)
    return error("linking " + what + " failed: " + err);
  return llvm::Error::success();
}

static const char *const kLibDirs[] = {"/usr/lib/llvm-22/lib",
                                       "/usr/lib/x86_64-linux-gnu",
                                       "/lib/x86_64-linux-gnu"};

llvm::Error mlir::tfm::linkExecutable(llvm::ArrayRef<std::string> inputs,
                                      llvm::StringRef output) {
  // The start files and C++ runtime of the toolchain tfmc was built with
  // (found by CMake at configure time).
  for (const char *f : {TFMC_CRT_SCRT1, TFMC_CRT_CRTI, TFMC_CRT_BEGIN,
                        TFMC_CRT_END, TFMC_CRT_CRTN})
    if (!llvm::sys::fs::exists(f))
      return error(llvm::Twine("cannot link an executable: ") + f +
                   " is missing (install libc6-dev and libstdc++-12-dev)");
  std::vector<std::string> args = {"ld.lld",
                                   "-pie",
                                   "--eh-frame-hdr",
                                   "-m",
                                   "elf_x86_64",
                                   "--export-dynamic",
                                   "-dynamic-linker",
                                   "/lib64/ld-linux-x86-64.so.2",
                                   "-o",
                                   output.str(),
                                   TFMC_CRT_SCRT1,
                                   TFMC_CRT_CRTI,
                                   TFMC_CRT_BEGIN};
  args.insert(args.end(), inputs.begin(), inputs.end());
  args.push_back(std::string("-L") + TFMC_GCC_LIB_DIR);
  for (const char *dir : kLibDirs)
    args.push_back(std::string("-L") + dir);
  args.insert(args.end(), {"-rpath", "/usr/lib/llvm-22/lib", "-lpng16", "-ljpeg", "-lfreetype", "-licui18n", "-licuuc",
                           "-lstdc++", "-lm",
                           "-lomp", "-lgcc_s", "-lgcc", "-lc", "-lgcc_s",
                           "-lgcc", TFMC_CRT_END, TFMC_CRT_CRTN});
  return runLld(args, "the executable");
}

llvm::Error mlir::tfm::linkSharedLibrary(llvm::ArrayRef<std::string> objects,
                                         llvm::StringRef output) {
  // The generated code calls libomp (threads) and possibly libm/libc.
  std::vector<std::string> args = {"ld.lld", "-shared", "--no-undefined", "-o",
                                   output.str()};
  args.insert(args.end(), objects.begin(), objects.end());
  for (const char *dir : kLibDirs)
    args.push_back(std::string("-L") + dir);
  args.insert(args.end(), {"-rpath", "/usr/lib/llvm-22/lib", "-lomp", "-lm",
                           "-lc", "--as-needed"});
  return runLld(args, "the model library");
}
