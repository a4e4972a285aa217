//===- tfmc-opt.cpp - mlir-opt with the tfm dialect and passes ------------===//
//
// Part of tfmc. Registers the tfm dialect, the upstream dialects tfm IR is
// lowered through, and every tfm pass and pipeline; nothing else.
//
//===----------------------------------------------------------------------===//

#include "tfm/Conversion/CpuTarget.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/IR/TfmDialect.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Plan/Plan.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

/// mlir-opt only warns ("Request ignored.") about a pass plugin it cannot
/// load and goes on without it; a pipeline naming the plugin's passes then
/// fails later with a confusing message. Check every plugin up front.
static bool pluginsLoad(int argc, char **argv) {
  const std::string flag = "--load-pass-plugin";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], path;
    if (a.rfind(flag + "=", 0) == 0)
      path = a.substr(flag.size() + 1);
    else if (a == flag && i + 1 < argc)
      path = argv[i + 1];
    else
      continue;
    auto plugin = mlir::PassPlugin::load(path);
    if (!plugin) {
      llvm::errs() << path << ": error: cannot load pass plugin: "
                   << llvm::toString(plugin.takeError()) << "\n";
      return false;
    }
  }
  return true;
}

int main(int argc, char **argv) {
  if (!pluginsLoad(argc, argv))
    return 1;
  mlir::DialectRegistry registry;
  registry.insert<mlir::tfm::TfmDialect, mlir::arith::ArithDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::LLVM::LLVMDialect, mlir::linalg::LinalgDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::omp::OpenMPDialect, mlir::scf::SCFDialect,
                  mlir::spirv::SPIRVDialect, mlir::tensor::TensorDialect,
                  mlir::vector::VectorDialect>();
  mlir::tfm::registerTfmPasses();
  mlir::tfm::registerTfmPipelines();
  mlir::tfm::registerTfmConversionPasses();
  mlir::tfm::registerTfmPlanPasses();
  mlir::tfm::registerCpuPlanTarget();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "tfmc optimizer driver\n", registry));
}
