//===- IRDump.cpp - IR after every pass into numbered files ---------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Tools/Inspect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::tfm;

namespace {
/// Prints the module after each pass into `<dir>/<NN>-<pass>.mlir`. A pass
/// that runs once per function rewrites its file after each function, so the
/// file ends up holding the module after the pass has run everywhere.
class DirPrinterConfig final : public PassManager::IRPrinterConfig {
public:
  explicit DirPrinterConfig(std::shared_ptr<IRDumpDir> state)
      : IRPrinterConfig(/*printModuleScope=*/true), state(std::move(state)),
        dir(this->state->dir) {}

  void printAfterIfEnabled(Pass *pass, Operation *,
                           PrintCallbackFn print) override {
    auto [it, inserted] = numbers.try_emplace(pass, state->next);
    if (inserted)
      ++state->next;
    std::string name = pass->getArgument().str();
    if (name.empty())
      name = pass->getName().str();
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(
        path, llvm::formatv("{0:02}-{1}.mlir", it->second, name).str());
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (!ec)
      print(os);
  }

private:
  std::shared_ptr<IRDumpDir> state;
  std::string dir;
  llvm::DenseMap<Pass *, unsigned> numbers;
};
} // namespace

FailureOr<std::shared_ptr<IRDumpDir>>
mlir::tfm::IRDumpDir::create(ModuleOp module, llvm::StringRef dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    emitError(module.getLoc()) << "cannot create --dump-ir-dir '" << dir
                               << "': " << ec.message();
    return failure();
  }
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "00-input.mlir");
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    emitError(module.getLoc()) << "cannot write '" << path << "': " << ec.message();
    return failure();
  }
  module.print(os);
  auto state = std::make_shared<IRDumpDir>();
  state->dir = dir.str();
  return state;
}

void mlir::tfm::IRDumpDir::attach(PassManager &pm) {
  // The config keeps the state alive through a shared pointer it holds.
  pm.enableIRPrinting(std::make_unique<DirPrinterConfig>(shared_from_this()));
}
