//===- Build.cpp - from the buffer-level module to an artifact ------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Target/Cpu.h"

#include "tfm/Conversion/Passes.h"
#include "tfm/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::tfm;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

/// Runs the LLVM-dialect pipeline on a copy-free module and translates it.
static llvm::Expected<std::unique_ptr<llvm::Module>>
toLLVM(ModuleOp loops, llvm::LLVMContext &ctx, CpuTarget &target,
       const ConfigurePassManager &configure) {
  PassManager pm(loops.getContext());
  if (failed(configure(pm)))
    return error("invalid pass manager options");
  buildCpuToLLVMPipeline(pm);
  if (failed(pm.run(loops)))
    return error("lowering to the LLVM dialect failed");
  return translateToLLVMIR(loops, ctx, target);
}

llvm::Error mlir::tfm::emitCpuCode(ModuleOp loops, CpuTarget &target,
                                   bool assembly, llvm::raw_ostream &os,
                                   const ConfigurePassManager &configure) {
  llvm::LLVMContext ctx;
  auto module = toLLVM(loops, ctx, target, configure);
  if (!module)
    return module.takeError();
  if (!assembly) {
    (*module)->print(os, nullptr);
    return llvm::Error::success();
  }
  llvm::SmallString<0> text;
  llvm::raw_svector_ostream svos(text);
  if (llvm::Error e = emitMachineCode(**module, target, svos, true))
    return e;
  os << text;
  return llvm::Error::success();
}

/// The static archive with tfmc-run and the runtime that executables are
/// linked with: lib/ next to the directory holding tfmc.
static llvm::Expected<std::string> exeSupportArchive() {
  static int anchor;
  std::string self = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
  llvm::SmallString<256> path(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(self)));
  llvm::sys::path::append(path, "lib", "libtfmc_exe_support.a");
  if (!llvm::sys::fs::exists(path))
    return error("cannot link an executable: " + path +
                 " is missing (build the tfmc_exe_support target)");
  return std::string(path);
}

/// Appends the manifest and the weights (page aligned, so the runtime can
/// map them) to the executable, then the trailer that locates them.
static llvm::Error appendPayload(llvm::StringRef exe, llvm::StringRef weights,
                                 llvm::StringRef manifest) {
  auto w = llvm::MemoryBuffer::getFile(weights, /*IsText=*/false,
                                       /*RequiresNullTerminator=*/false);
  auto m = llvm::MemoryBuffer::getFile(manifest);
  if (!w || !m)
    return error("cannot read the artifact to embed it");
  uint64_t size = 0;
  std::error_code ec = llvm::sys::fs::file_size(exe, size);
  if (ec)
    return error("cannot read " + exe + ": " + ec.message());
  llvm::raw_fd_ostream os(exe, ec, llvm::sys::fs::OF_Append);
  if (ec)
    return error("cannot write " + exe + ": " + ec.message());
  uint64_t manifestAt = size;
  os << (*m)->getBuffer();
  uint64_t end = manifestAt + (*m)->getBufferSize();
  uint64_t weightsAt = (end + 4095) / 4096 * 4096;
  os.write_zeros(weightsAt - end);
  os << (*w)->getBuffer();
  uint64_t fields[3] = {weightsAt, manifestAt, (*m)->getBufferSize()};
  os.write("TFMCEXE1", 8);
  os.write(reinterpret_cast<const char *>(fields), sizeof(fields));
  os.close();
  if (os.has_error())
    return error("cannot write " + exe + ": " + os.error().message());
  return llvm::Error::success();
}

llvm::Error mlir::tfm::writeCpuArtifact(ModuleOp loops,
                                        const WeightSource &weights,
                                        CpuTarget &target,
                                        llvm::StringRef outDir,
                                        const ConfigurePassManager &configure,
                                        bool executable) {
  // The lowered entries keep their #tfm.entry; the module its plan.
  ArtifactInfo info = artifactInfoFor(loops);
  info.library = "model.so";
  info.writeTarget = [&](llvm::json::OStream &j) {
    j.attribute("kind", "cpu");
    j.attribute("triple", target.triple);
    j.attribute("cpu", target.cpu);
    j.attribute("vector_width", static_cast<int64_t>(target.vectorWidth));
    j.attributeArray("features", [&] {
      for (const std::string &f : target.requiredFeatures)
        j.value(f);
    });
  };

  return writeArtifactDir(outDir, [&](auto at) -> llvm::Error {
    // Weights first: a missing or malformed source fails before any codegen.
    auto checksum = writeWeights(info.weights, weights, at("weights.bin"));
    if (!checksum)
      return checksum.takeError();
    info.weightsChecksum = *checksum;

    llvm::LLVMContext ctx;
    auto module = toLLVM(loops, ctx, target, configure);
    if (!module)
      return module.takeError();
    {
      std::error_code ec;
      llvm::raw_fd_ostream obj(at("model.o"), ec);
      if (ec)
        return error("cannot write model.o: " + ec.message());
      if (llvm::Error e = emitMachineCode(**module, target, obj, false))
        return e;
    }
    if (llvm::Error e = linkSharedLibrary({at("model.o")}, at("model.so")))
      return e;
    if (llvm::Error e = copyTokenizerFiles(info, at))
      return e;
    if (llvm::Error e = writeManifest(at("manifest.json"), info))
      return e;
    if (executable) {
      auto archive = exeSupportArchive();
      if (!archive)
        return archive.takeError();
      if (llvm::Error e =
              linkExecutable({at("model.o"), *archive}, at("model")))
        return e;
      // The executable's manifest carries the tokenizer files inline.
      if (llvm::Error e = writeManifest(at("manifest.exe.json"), info,
                                        /*inlineTokenizer=*/true))
        return e;
      if (llvm::Error e = appendPayload(at("model"), at("weights.bin"),
                                        at("manifest.exe.json")))
        return e;
    }
    (void)llvm::sys::fs::remove(at("model.o"));
    (void)llvm::sys::fs::remove(at("manifest.exe.json"));
    return llvm::Error::success();
  });
}
