//===- EntryRemarks.cpp - one remark per site, naming its entries ---------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "EntryRemarks.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::tfm::driver;

namespace {
/// Records the symbol (the entry function) each pass runs on.
struct EntryTracker final : PassInstrumentation {
  explicit EntryTracker(std::string &entry) : entry(entry) {}
  void runBeforePass(Pass *, Operation *op) override {
    if (auto sym = dyn_cast<SymbolOpInterface>(op))
      entry = sym.getName().str();
    else
      entry.clear();
  }
  std::string &entry;
};
} // namespace

EntryRemarks::EntryRemarks(MLIRContext &ctx) : ctx(ctx) {
  handler = ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
    if (d.getSeverity() != DiagnosticSeverity::Remark)
      return failure(); // not ours: on to the printing handlers
    std::string message = d.str();
    auto key = std::make_pair(d.getLocation().getAsOpaquePointer(), message);
    auto [it, inserted] = index.try_emplace(std::move(key), sites.size());
    if (inserted)
      sites.push_back(Site{d.getLocation(), std::move(message), {}});
    Site &site = sites[it->second];
    if (!entry.empty() && !llvm::is_contained(site.entries, entry))
      site.entries.push_back(entry);
    return success();
  });
}

EntryRemarks::~EntryRemarks() {
  if (handler)
    ctx.getDiagEngine().eraseHandler(*handler);
}

void EntryRemarks::attach(PassManager &pm) {
  pm.addInstrumentation(std::make_unique<EntryTracker>(entry));
}

void EntryRemarks::flush() {
  if (!handler)
    return;
  ctx.getDiagEngine().eraseHandler(*handler);
  handler.reset();
  for (Site &site : sites) {
    InFlightDiagnostic diag = emitRemark(site.loc) << site.message;
    if (!site.entries.empty())
      diag << " (in " << llvm::join(site.entries, ", ") << ")";
  }
  sites.clear();
  index.clear();
}
