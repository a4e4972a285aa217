//===- Safetensors.h - validated, memory-mapped safetensors reader -*- C++ -*-===//
//
// Part of tfmc. Shared by every frontend. The whole header is validated when
// the file is opened (length cap, JSON, dtypes, shapes, offsets, overlaps,
// overflow), so later reads cannot go out of bounds.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTENDS_SAFETENSORS_H
#define TFM_FRONTENDS_SAFETENSORS_H

#include "tfmc/limits.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::tfm {

/// Element types of the safetensors format.
enum class SafetensorsDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// Size in bytes of one element.
size_t dtypeSize(SafetensorsDType t);
/// The format's spelling ("F32", ...).
llvm::StringRef dtypeName(SafetensorsDType t);

/// One tensor entry of the header; offsets are relative to the data section.
struct SafetensorsTensor {
  std::string name;
  SafetensorsDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
  int64_t numElements() const;
};

class SafetensorsFile {
public:
  /// Largest header accepted (the reference implementation uses 100 MB).
  static constexpr uint64_t kMaxHeaderBytes = TFMC_MAX_SAFETENSORS_HEADER_BYTES;

  /// Maps and validates `path`. Errors name the file and the problem.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  open(llvm::StringRef path);
  /// Validates an in-memory file (unit tests); `name` is used in messages.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer);

  llvm::StringRef path() const { return filePath; }
  const SafetensorsTensor *find(llvm::StringRef name) const;
  llvm::ArrayRef<SafetensorsTensor> tensors() const { return entries; }
  const llvm::StringMap<std::string> &metadata() const { return meta; }

  /// Raw bytes of a tensor.
  llvm::ArrayRef<uint8_t> bytes(const SafetensorsTensor &t) const;
  /// Reads a floating-point tensor as f32 (F16/BF16/F64 are converted);
  /// other dtypes are rejected with a clear message.
  llvm::Error readF32(const SafetensorsTensor &t, float *out) const;

private:
  SafetensorsFile() = default;
  llvm::Error parse();

  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  const uint8_t *data = nullptr; ///< start of the data section
  uint64_t dataSize = 0;
  std::vector<SafetensorsTensor> entries;
  llvm::StringMap<size_t> index;
  llvm::StringMap<std::string> meta;
};

} // namespace mlir::tfm

#endif // TFM_FRONTENDS_SAFETENSORS_H
