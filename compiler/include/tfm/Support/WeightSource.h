//===- WeightSource.h - parameter values for the artifact writer -*- C++
//-*-===//
//
// Part of tfmc. What the artifact writer needs from wherever weights come
// from (a safetensors checkpoint, seeded random data): each named tensor's
// shape and values. The frontends implement it (WeightStore); the target
// layer depends only on this interface.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_SUPPORT_WEIGHTSOURCE_H
#define TFM_SUPPORT_WEIGHTSOURCE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::tfm {

class WeightSource {
public:
  virtual ~WeightSource() = default;
  /// Shape of a stored parameter, or nullopt when there is none.
  virtual std::optional<std::vector<int64_t>>
  shape(llvm::StringRef name) const = 0;
  /// Reads a parameter as f32 (widening exactly from f16, bf16) into `out`
  /// (its element count). The writer narrows to the planned element type.
  virtual llvm::Error read(llvm::StringRef name, float *out) const = 0;
  /// "path/model.safetensors" or "random (seed 7)", for messages.
  virtual std::string describe() const = 0;
};

} // namespace mlir::tfm

#endif // TFM_SUPPORT_WEIGHTSOURCE_H
