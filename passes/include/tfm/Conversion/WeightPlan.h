//===- WeightPlan.h - layout of the weights buffer --------------*- C++ -*-===//
//
// Part of tfmc. Both backends decide, while lowering, in which layout each
// weight is stored (row-major, packed GEMM panels, generated tables); the plan
// is recorded on the module (kWeightPlanAttr) and the artifact writer fills
// weights.bin from it.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_WEIGHTPLAN_H
#define TFM_CONVERSION_WEIGHTPLAN_H

#include "tfm/IR/TfmOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace mlir::tfm {

/// How a tensor is laid out in the weights buffer.
enum class WeightLayout {
  RowMajor,   ///< as stored
  GemmPanels, ///< [ceil(N/NR), K, NR] panels of the GEMM right operand
  Sinusoidal, ///< a generated [rows, d] positional encoding table
};

/// One tensor of the weights buffer.
struct WeightEntry {
  std::string name;               ///< stored name, or a generated table's name
  SmallVector<std::string> parts; ///< concatenated stored tensors, if any
  int64_t concatAxis = 0;
  SmallVector<int64_t> shape; ///< logical shape
  WeightLayout layout = WeightLayout::RowMajor;
  bool kn = false; ///< GemmPanels: logical weight is [K, N]
  int64_t nr = 0;  ///< GemmPanels: panel width
  double base = 0; ///< Sinusoidal: the wavelength base
  int64_t offset = 0, bytes = 0;

  /// GemmPanels: the stored shape [ceil(N/nr), K, nr].
  SmallVector<int64_t, 3> panelShape() const {
    int64_t n = kn ? shape[1] : shape[0];
    int64_t k = kn ? shape[0] : shape[1];
    return {(n + nr - 1) / nr, k, nr};
  }
};

/// The layout of the weights buffer, shared by all entry functions and
/// recorded on the module for the artifact writer.
class WeightPlan {
public:
  /// Offset of `e` in the buffer (added on first request, 64-byte aligned).
  const WeightEntry &add(WeightEntry e);
  /// Weight `op` ([N, K], or [K, N] with `kn`) packed into GEMM panels of
  /// width `nr`.
  const WeightEntry &addGemmPanels(WeightOp op, bool kn, int64_t nr);
  /// The generated [rows, d] sinusoidal positional table.
  const WeightEntry &addSinusoidal(int64_t rows, int64_t d, double base);
  ArrayAttr toAttr(Builder &b) const;
  int64_t totalBytes() const { return size; }

private:
  std::vector<WeightEntry> entries;
  llvm::StringMap<size_t> index;
  int64_t size = 0;
};

/// The row-major entry of a weight op (its name, shape and, for a merged
/// weight, its concatenated parts).
WeightEntry weightEntryFor(WeightOp op);

/// The smallest table row count among the embeddings and gathers that index
/// with entry argument `arg`: the bound the runtime checks token ids
/// against (0 when `arg` indexes nothing).
int64_t tokenIdBound(Value arg);

} // namespace mlir::tfm

#endif // TFM_CONVERSION_WEIGHTPLAN_H
