//===- fuzz_frontend.cpp - libFuzzer harness: model files -> tfm IR -------===//
//
// Part of tfmc. Built twice (test/fuzz/CMakeLists.txt):
//   fuzz-toml       the input is a TOML model file (docs/model-format.md);
//   fuzz-hf-config  the input is a Hugging Face config.json, next to an
//                   empty model.safetensors.
// Either goes through importModel as `tfmc FILE` does: parse, check, build
// and verify the primitive tfm module (random weights, nothing compiled).
// Errors are the expected outcome of most inputs; a crash, a sanitizer
// report, a hang or an import that "succeeds" without a module is a finding.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "tfm/Frontends/Frontends.h"
#include "tfm/IR/TfmDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>

using namespace mlir;

namespace {

/// One context for many inputs; replaced now and then so the attributes the
/// inputs leave uniqued in it cannot grow without bound.
MLIRContext &context() {
  static std::unique_ptr<MLIRContext> ctx;
  static unsigned uses = 0;
  if (!ctx || ++uses % 256 == 0) {
    DialectRegistry registry;
    registry.insert<tfm::TfmDialect, func::FuncDialect, arith::ArithDialect,
                    math::MathDialect, tensor::TensorDialect>();
    ctx = std::make_unique<MLIRContext>(registry);
    ctx->loadAllAvailableDialects();
    ctx->disableMultithreading();
  }
  return *ctx;
}

std::string inputPath(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
#if defined(TFMC_FUZZ_HF)
  // An empty but valid checkpoint: header length 2, header "{}".
  static const std::string weights = [] {
    std::string w("\x02\0\0\0\0\0\0\0{}", 10);
    return tfmc::fuzz::writeScratch("model.safetensors", w);
  }();
  (void)weights;
  tfmc::fuzz::writeScratch("config.json", bytes);
  return tfmc::fuzz::scratchDir();
#else
  return tfmc::fuzz::writeScratch("model.toml", bytes);
#endif
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  std::string path = inputPath(data, size);
  llvm::SourceMgr sourceMgr;
  // Diagnostics are formatted (that code is fuzzed too), then dropped.
  std::string sink;
  llvm::raw_string_ostream os(sink);
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx, os);
  tfm::ImportOptions options;
  FailureOr<tfm::ImportedModel> model =
      tfm::importModel(ctx, sourceMgr, path, options);
  if (succeeded(model)) {
    if (!model->module || !model->weights)
      tfmc::fuzz::violated("an import succeeded without a module");
    if (failed(verify(model->module->getOperation())))
      tfmc::fuzz::violated("an imported module does not verify");
  }
  return 0;
}
