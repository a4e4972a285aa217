//===- Manifest.h - manifest.json, parsed and validated ---------*- C++ -*-===//
//
// Part of tfmc. The runtime's view of an artifact's manifest. Parsing never
// throws: a malformed manifest yields an error naming the file and the JSON
// path of the offending field.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_MANIFEST_H
#define TFMC_RUNTIME_MANIFEST_H

#include "tfmc/runtime.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tfmc::rt {

struct TensorSpec {
  std::string name;
  tfmc_dtype dtype = TFMC_DTYPE_FLOAT32;
  std::vector<int64_t> shape;        ///< -1: a named dynamic dimension
  std::vector<std::string> dimNames; ///< per dimension, "" when static
  std::vector<int64_t> maxShape;     ///< dynamic dimensions at their bound
  int64_t idBound = 0;
  bool state = false; ///< run-time state the session owns (a KV cache)

  static size_t product(const std::vector<int64_t> &shape) {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    return n;
  }
  size_t maxBytes() const { return product(maxShape) * tfmc_dtype_size(dtype); }
  bool dynamic() const {
    for (int64_t d : shape)
      if (d < 0)
        return true;
    return false;
  }
};

struct DimBound {
  int64_t min = 1, max = 0;
};

/// Vulkan artifacts: where an entry input or output lives on the device.
struct VulkanIo {
  std::string buffer; ///< "arena", "state" or "scalar"
  int64_t offset = 0; ///< bytes
  int64_t slot = -1;  ///< scalar inputs
};

/// One step of an entry's scalar program (sizes known only at run time).
struct VulkanScalar {
  enum Op { Const, Dim, Index, Add, Sub, Mul, Div, CeilDiv, Min, Max } op;
  int64_t a = 0, b = 0;
};

struct VulkanDispatch {
  int64_t kernel = 0;
  std::vector<int32_t> push;
  int64_t groups[3] = {0, 0, 0}; ///< scalar slots
  bool barrier = false;
};

/// An entry's dispatch plan (docs/vulkan-backend.md).
struct VulkanEntry {
  int64_t arenaBytes = 0;
  std::vector<VulkanScalar> scalars;
  std::vector<VulkanIo> inputs, outputs;
  std::vector<VulkanDispatch> dispatches;
};

struct VulkanKernel {
  std::string name;
  int64_t offset = 0, words = 0, localSize = 1;
};

struct EntrySpec {
  std::string name;
  uint64_t signature = 0; ///< of the code compiled for it (tfmc/abi.h)
  VulkanEntry vulkan;
  std::string symbol;
  uint64_t workspaceBytes = 0;
  std::vector<TensorSpec> inputs, outputs;
  std::map<std::string, DimBound> dims; ///< bounds of named dimensions
};

/// The model's tokenizer: its kind and files (in the artifact directory, or
/// inline in an executable's manifest).
struct TokenizerSpec {
  std::string kind; ///< empty: none
  bool lowercase = false;
  std::vector<std::string> files;
  std::map<std::string, std::string> inlineFiles;
};

/// A vision model's image preprocessing (ViTImageProcessor's) and labels.
struct ImageSpec {
  bool present = false, preprocessing = false;
  int64_t channels = 0, height = 0, width = 0;
  bool resize = true;
  double rescale = 0; ///< 0: pixel values are not rescaled
  std::vector<double> mean, std;
  std::vector<std::string> labels;
};

/// One tensor of weights.bin: what the code reads where.
struct WeightTensor {
  std::string name, dtype, layout;
  std::vector<int64_t> shape;
  int64_t panelWidth = 0;
  bool kn = false;
  int64_t quantBits = 0, quantGroup = 0; ///< quantized panels (0: none)
  int64_t offset = 0, bytes = 0;
};

struct Manifest {
  int64_t version = 0;
  std::string targetKind, triple, cpu;
  std::vector<std::string> features;
  std::string library, weightsFile;
  // Vulkan artifacts.
  std::string vulkanProfile, kernelsFile;
  int64_t stateBytes = 0, pushWords = 0;
  std::vector<VulkanKernel> kernels;
  uint64_t weightsBytes = 0;
  uint64_t weightsChecksum = 0;
  std::vector<WeightTensor> weightTensors;
  /// Vulkan device features the kernels use ("storage16", "storage8").
  std::vector<std::string> deviceFeatures;
  std::string family;
  int64_t bosId = -1, eosId = -1, padId = -1, maxSeqLen = -1;
  std::vector<EntrySpec> entries;
  TokenizerSpec tokenizer;
  ImageSpec image;
};

/// Parses `text` (the contents of `path`, which only names it in errors).
/// On failure returns false with `status` and `error` set.
bool parseManifest(const std::string &path, const std::string &text,
                   Manifest &out, tfmc_status &status, std::string &error);

/// The signature code compiled for entry `e` of `m` has (tfmc/abi.h): the
/// runtime compares it with the one the code carries.
uint64_t entrySignature(const EntrySpec &e, const Manifest &m);

/// Parses a dtype name ("float32", ...); false if unknown.
bool parseDtype(const std::string &name, tfmc_dtype &out);

} // namespace tfmc::rt

#endif // TFMC_RUNTIME_MANIFEST_H
