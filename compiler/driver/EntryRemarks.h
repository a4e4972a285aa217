//===- EntryRemarks.h - one remark per site, naming its entries -*- C++ -*-===//
//
// Part of tfmc. A model compiles to several entries (forward, prefill,
// decode, ...) that share their layers, so the fusion passes, which run once
// per entry, report every site once per entry. While a pass manager runs,
// this collects the remarks it produces with the entry each was reported in;
// flush() then emits each (location, message) once, followed by the entries
// it holds in: "... fused into tfm.attention (in prefill, decode)".
//
//===----------------------------------------------------------------------===//

#ifndef TFM_DRIVER_ENTRYREMARKS_H
#define TFM_DRIVER_ENTRYREMARKS_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"

#include <map>
#include <optional>
#include <string>

namespace mlir {
class PassManager;
} // namespace mlir

namespace mlir::tfm::driver {

class EntryRemarks {
public:
  /// Starts collecting the remarks emitted in `ctx`. Needs a context
  /// without multithreading (the current entry is tracked per pass run).
  explicit EntryRemarks(MLIRContext &ctx);
  ~EntryRemarks();
  EntryRemarks(const EntryRemarks &) = delete;
  EntryRemarks &operator=(const EntryRemarks &) = delete;

  /// Tracks in which entry (symbol) each of `pm`'s passes runs.
  void attach(PassManager &pm);
  /// Stops collecting and emits the grouped remarks, in first-seen order.
  void flush();

private:
  struct Site {
    Location loc;
    std::string message;
    llvm::SmallVector<std::string> entries;
  };
  MLIRContext &ctx;
  std::optional<DiagnosticEngine::HandlerID> handler;
  std::string entry;
  std::map<std::pair<const void *, std::string>, size_t> index;
  llvm::SmallVector<Site> sites; // first-seen order
};

} // namespace mlir::tfm::driver

#endif // TFM_DRIVER_ENTRYREMARKS_H
