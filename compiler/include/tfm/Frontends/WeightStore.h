//===- WeightStore.h - model parameter values at compile time ---*- C++ -*-===//
//
// Part of tfmc. The IR refers to parameters by name (tfm.weight); a
// WeightStore answers, for each name, its shape and its values. Values are
// only read when a backend writes the artifact.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTENDS_WEIGHTSTORE_H
#define TFM_FRONTENDS_WEIGHTSTORE_H

#include "tfm/Frontends/Safetensors.h"
#include "tfm/Support/WeightSource.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::tfm {

class WeightStore final : public WeightSource {
public:
  /// How a randomly initialised parameter is filled.
  enum class Init { Normal, Ones, Zeros };

  /// Parameters read from a safetensors file.
  static std::unique_ptr<WeightStore>
  fromSafetensors(std::unique_ptr<SafetensorsFile> file);
  /// Parameters of a sharded checkpoint: `shards` and, for every tensor
  /// name, the index of the shard that holds it; `indexPath` (the
  /// model.safetensors.index.json) names the store in messages.
  static std::unique_ptr<WeightStore>
  fromShards(std::vector<std::unique_ptr<SafetensorsFile>> shards,
             llvm::StringMap<unsigned> owner, std::string indexPath);
  /// Deterministic random parameters (normal(0, 0.02) matrices, unit norm
  /// scales, zero biases); the same seed and name always give the same values.
  static std::unique_ptr<WeightStore> random(uint64_t seed);

  /// Checks that `name` exists with `shape` (a random store records it).
  /// The error message names the file and the tensor.
  llvm::Error require(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                      Init init);
  /// Shape of a required (or stored) parameter.
  std::optional<std::vector<int64_t>>
  shape(llvm::StringRef name) const override;
  /// Reads a parameter as f32 into `out` (numElements floats).
  llvm::Error read(llvm::StringRef name, float *out) const override;

  /// How `name` is stored in the checkpoint (nullopt: random weights or no
  /// such tensor).
  std::optional<SafetensorsDType> storedType(llvm::StringRef name) const;

  /// "path/model.safetensors", the shard index, or "random (seed 7)".
  std::string describe() const override;
  /// Stored tensors no required name refers to (file stores only).
  std::vector<std::string> unused() const;

private:
  WeightStore() = default;
  /// The stored tensor `name` (null when absent).
  const SafetensorsTensor *find(llvm::StringRef name,
                                const SafetensorsFile **in = nullptr) const;
  bool fromFiles() const { return !files.empty(); }

  std::vector<std::unique_ptr<SafetensorsFile>> files;
  llvm::StringMap<unsigned> owner; ///< shards: tensor name -> file index
  std::string source;              ///< what the messages call the store
  uint64_t seed = 0;
  struct RandomEntry {
    std::vector<int64_t> shape;
    Init init;
  };
  llvm::StringMap<RandomEntry> randoms;
  llvm::StringSet<> used;
};

} // namespace mlir::tfm

#endif // TFM_FRONTENDS_WEIGHTSTORE_H
